import { HttpLayerRouter, HttpMiddleware } from "@effect/platform"
import { BunHttpServer } from "@effect/platform-bun"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { serverSpanMiddleware } from "../http/ServerSpan.ts"
import { AllRoutes } from "./Routes.ts"

/** The Bun HTTP/WebSocket server on HTTP_HOST:HTTP_PORT serving every route. */
export const HttpServerLive = HttpLayerRouter.serve(
  // Provided last, so it wraps every other global middleware: 429s and CORS preflights get a span too.
  AllRoutes.pipe(Layer.provide(serverSpanMiddleware)),
  { disableLogger: true }
).pipe(
  // The platform's own tracer middleware is replaced by serverSpanMiddleware (see there why).
  HttpMiddleware.withTracerDisabledWhen(() => true),
  // Merged so callers (tests, the runner) can read the bound address.
  Layer.provideMerge(
    Layer.unwrapEffect(
      Effect.map(AppConfig, (config) =>
        BunHttpServer.layer({
          hostname: config.httpHost,
          port: config.httpPort,
          // Bun rejects larger bodies before they are buffered, with an empty 413. Its cap sits
          // above MAX_BODY_BYTES so the request middleware answers a JSON 413 naming the limit:
          // at once for a Content-Length over it, after reading for a chunked body under the cap.
          maxRequestBodySize: config.maxBodyBytes * 2 + 64 * 1024
        }))
    )
  )
)
