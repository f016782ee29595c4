import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { ProcessingWatchdog } from "../cluster/ProcessingWatchdog.ts"
import { HealthCheck } from "./HealthCheck.ts"

export const HealthHttpLive = HttpApiBuilder.group(PlatformApi, "health", (handlers) =>
  Effect.gen(function*() {
    const health = yield* HealthCheck
    return handlers.handle("health", () =>
      Effect.flatMap(health.check, (report) => report.status === "ok" ? Effect.succeed(report) : Effect.fail(report)))
  })).pipe(
    Layer.provide(HealthCheck.Default),
    Layer.provide(ProcessingWatchdog.Default)
  )
