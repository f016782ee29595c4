import { HttpLayerRouter, HttpServerError, HttpServerRequest, type HttpServerResponse, HttpTraceContext } from "@effect/platform"
import { Context, Effect, Option, type Tracer } from "effect"

/**
 * The HTTP server span of every request, in place of @effect/platform's `HttpMiddleware.tracer`
 * (switched off in src/app/Server.ts). Same name (`http.server <METHOD>`), kind, parent
 * (W3C/B3 headers) and the attributes the span store and the HTTP metrics read
 * (`http.request.method`, `http.route` set by the router, `http.response.status_code`).
 * The platform's tracer also resolved the peer address (Bun `server.requestIP`), parsed the
 * whole URL and copied every request and response header into attributes on every request,
 * ~60 µs of CPU each time, for spans that are mostly sampled out as trivial. Here the
 * costlier attributes (`client.address`, `user_agent.original`) are added only to answers
 * ≥ 400, the spans that are always stored.
 */
export const serverSpanMiddleware = HttpLayerRouter.middleware(
  (httpEffect) =>
    Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse, unknown>((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const headers = request.headers
      const parent = headers.traceparent !== undefined || headers.b3 !== undefined || headers["x-b3-traceid"] !== undefined
        ? Option.getOrUndefined(HttpTraceContext.fromHeaders(headers))
        : undefined
      return Effect.useSpan(
        `http.server ${request.method}`,
        { parent, kind: "server", captureStackTrace: false },
        (span) => {
          span.attribute("http.request.method", request.method)
          const query = request.url.indexOf("?")
          // Only the path: a query string may carry tokens (`?access_token=` on WebSocket upgrades).
          span.attribute("url.path", query < 0 ? request.url : request.url.slice(0, query))
          return Effect.onExit(Effect.withParentSpan(httpEffect, span), (exit) =>
            Effect.sync(() =>
              answeredSpan(
                span,
                HttpServerError.exitResponse(exit).status,
                () => Option.getOrUndefined(request.remoteAddress),
                headers["user-agent"]
              )
            ))
        }
      )
    }),
  { global: true }
)

/**
 * The attributes a server span gets once its request is answered, on both paths (this middleware
 * and the HTTP fast path, src/http/FastPath.ts): the status, and for answers >= 400 only, the
 * costlier peer address and user agent.
 */
export const answeredSpan = (
  span: Tracer.Span,
  status: number,
  clientAddress: () => string | undefined,
  userAgent: string | null | undefined
): void => {
  span.attribute("http.response.status_code", status)
  if (status < 400) return
  const address = clientAddress()
  if (address !== undefined) span.attribute("client.address", address)
  if (userAgent !== undefined && userAgent !== null) span.attribute("user_agent.original", userAgent)
}

/**
 * A port (src/observability/SpanSink.ts `ServerSpanSampling` fills it, src/app passes it): the
 * span store's sampling of trivial requests (root, answered < 400 within `slowMs`, no child span),
 * for code that makes a server span only when it is kept (the HTTP fast path).
 */
export interface TrivialSpanSampling {
  readonly slowMs: number
  /** Every span also goes to an OTLP collector: every span must be made. */
  readonly exported: boolean
  /** The store's draw for a trivial request, before its span exists: whether it would be stored. */
  readonly drawTrivial: () => boolean
  /** Ends a span made after `drawTrivial`, so the store keeps that draw instead of drawing again. */
  readonly endDrawn: (spanId: string, stored: boolean, end: () => void) => void
  /** A request whose span was not made counts in the HTTP metrics as its span would have. */
  readonly countUnmade: (method: string, route: string, status: number, durationMs: number) => void
}
