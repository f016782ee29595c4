import { HttpLayerRouter, HttpServerError, HttpServerRequest, type HttpServerResponse, HttpTraceContext } from "@effect/platform"
import { Context, Effect, Option } from "effect"

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
            Effect.sync(() => {
              const status = HttpServerError.exitResponse(exit).status
              span.attribute("http.response.status_code", status)
              if (status >= 400) {
                if (request.remoteAddress._tag === "Some") span.attribute("client.address", request.remoteAddress.value)
                if (headers["user-agent"] !== undefined) span.attribute("user_agent.original", headers["user-agent"])
              }
            }))
        }
      )
    }),
  { global: true }
)
