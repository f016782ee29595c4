import { type HttpApiEndpoint, HttpLayerRouter, HttpMiddleware } from "@effect/platform"
import { BunHttpServer } from "@effect/platform-bun"
import { Effect, Layer, Option } from "effect"
import { meAnswer } from "../auth/Http.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import type { Principal } from "../domain/Identity.ts"
import { fastAdmission } from "../gateway/FastAdmission.ts"
import { RateLimiter } from "../gateway/RateLimiter.ts"
import { corsOptions, simpleCorsHeaders } from "../http/Cors.ts"
import { fixedSecurityHeaders } from "../http/SecurityHeaders.ts"
import { type FastEndpoint, HttpFastPath, makeFastPath } from "../http/FastPath.ts"
import { serverSpanMiddleware } from "../http/ServerSpan.ts"
import { jsonAccessLog } from "../observability/Logging.ts"
import { ServerSpans } from "../observability/SpanSink.ts"
import { GatewayServicesLive } from "./GatewayLive.ts"
import { AllRoutes } from "./Routes.ts"

/**
 * Endpoints answered by the HTTP fast path (src/http/FastPath.ts) once the caller's token and
 * principal are cached: hot reads whose handler is all their work.
 */
const fastEndpoints: ReadonlyArray<FastEndpoint<Principal>> = [{
  endpoint: PlatformApi.groups.auth.endpoints.me as unknown as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps,
  answer: meAnswer
}]

/** The Bun HTTP/WebSocket server on HTTP_HOST:HTTP_PORT serving every route. */
export const HttpServerLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) => {
  const fast = makeFastPath(fastEndpoints)
  // The same service instances (token and principal caches, rate-limit buckets) as the full path:
  // layers are shared by reference within one build.
  const FastPathLive = Layer.scoped(
    HttpFastPath,
    Effect.gen(function*() {
      const admit = yield* fastAdmission
      const sampling = Option.getOrUndefined(yield* Effect.serviceOption(ServerSpans))
      // The fast path answers JSON: the security headers ride with the CORS headers.
      const headers = simpleCorsHeaders(corsOptions(config.corsOrigins), fixedSecurityHeaders(Option.getOrUndefined(config.publicBaseUrl)))
      yield* fast.install({ admit, cors: headers, sampling, accessLog: jsonAccessLog })
      return { served: fast.served }
    })
  ).pipe(Layer.provide(RateLimiter.layer), Layer.provide(GatewayServicesLive))
  return HttpLayerRouter.serve(
    // Provided last, so it wraps every other global middleware: 429s and CORS preflights get a span too.
    AllRoutes.pipe(Layer.provide(serverSpanMiddleware)),
    { disableLogger: true }
  ).pipe(
    Layer.merge(FastPathLive),
    // The platform's own tracer middleware is replaced by serverSpanMiddleware (see there why).
    HttpMiddleware.withTracerDisabledWhen(() => true),
    // Merged so callers (tests, the runner) can read the bound address.
    Layer.provideMerge(BunHttpServer.layer({
      hostname: config.httpHost,
      port: config.httpPort,
      // Bun rejects larger bodies before they are buffered, with an empty 413. Its cap sits
      // above MAX_BODY_BYTES so the request middleware answers a JSON 413 naming the limit:
      // at once for a Content-Length over it, after reading for a chunked body under the cap.
      maxRequestBodySize: config.maxBodyBytes * 2 + 64 * 1024,
      // Matched by Bun before the adapter's `fetch`; each falls back to it.
      routes: fast.routes
    }))
  )
}))
