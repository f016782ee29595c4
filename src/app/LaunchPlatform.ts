import { BunRuntime } from "@effect/platform-bun"
import { Config, Effect, Layer } from "effect"
import type { AppConfig } from "../config/AppConfig.ts"
import { LoggingLive } from "../observability/Logging.ts"
import { PlatformLive } from "./Platform.ts"
import { FeatureSettingsFromEnv } from "./Settings.ts"
import { startupFailure } from "./StartupFailure.ts"

/**
 * Runs `PlatformLive` as this process's main program with the given process
 * settings (features read theirs from the environment):
 * JSON logging, and a start-up failure reported as one readable log line
 * (the cause's message), not a stack dump. Shared by both composition roots.
 */
export const launchPlatform = (config: Layer.Layer<AppConfig, unknown>) =>
  Effect.zipRight(shutdownBudget, Layer.launch(PlatformLive)).pipe(
    Effect.tapErrorCause((cause) => Effect.logFatal(`start-up failed: ${startupFailure(cause)}`)),
    Effect.provide(LoggingLive),
    Effect.provide(Layer.merge(config, FeatureSettingsFromEnv)),
    BunRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
  )

/**
 * SIGTERM / SIGINT interrupt the main fiber and run every finalizer; one that
 * waits on something that no longer answers (a stalled database, a stuck
 * stream) must not keep the process alive: past SHUTDOWN_TIMEOUT_SECONDS
 * (default 10) it exits with status 1 (issue #21).
 */
const shutdownBudget = Effect.gen(function*() {
  const seconds = yield* Config.integer("SHUTDOWN_TIMEOUT_SECONDS").pipe(Config.withDefault(10))
  yield* Effect.sync(() => {
    const arm = (signal: NodeJS.Signals) => {
      const timer = setTimeout(() => {
        process.stderr.write(`${JSON.stringify({ message: `shutdown after ${signal} exceeded ${seconds} s: exiting`, logLevel: "ERROR", timestamp: new Date().toISOString() })}\n`)
        process.exit(1)
      }, seconds * 1000)
      timer.unref()
    }
    process.once("SIGTERM", arm)
    process.once("SIGINT", arm)
  })
})
