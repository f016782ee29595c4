import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { MetricsExposition } from "./MetricsExposition.ts"
import { ObservabilityConfig } from "./ObservabilityConfig.ts"

const timingSafeEqual = (a: string, b: string) => {
  const x = new TextEncoder().encode(a)
  const y = new TextEncoder().encode(b)
  let diff = x.length ^ y.length
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0)
  return diff === 0
}

/**
 * GET /metrics for Prometheus scrapers: no user account, a shared bearer
 * token (METRICS_TOKEN). Without one it is open in single mode (dev) and
 * closed (401) in cluster modes, where a node is reachable by others, unless
 * METRICS_PUBLIC=true. The same exposition is served to users at
 * GET /observability/metrics.
 */
export const MetricsRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const config = yield* ObservabilityConfig
    const exposition = yield* MetricsExposition
    const app = yield* AppConfig
    const closedWithoutToken = app.clusterMode !== "single" && !config.metricsPublic
    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function*() {
        if (Option.isNone(config.metricsToken) && closedWithoutToken) {
          return jsonError(401, "Unauthorized", "metrics need METRICS_TOKEN in cluster modes")
        }
        if (Option.isSome(config.metricsToken)) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const given = (request.headers["authorization"] ?? "").replace(/^Bearer\s+/i, "")
          if (!timingSafeEqual(given, Redacted.value(config.metricsToken.value))) {
            return jsonError(401, "Unauthorized", "a valid metrics token is required")
          }
        }
        const text = yield* exposition.text.pipe(Effect.orDie)
        return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      })
    )
  })
)
