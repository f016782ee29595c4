import { BunRuntime } from "@effect/platform-bun"
import { Effect, Layer } from "effect"
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
  Layer.launch(PlatformLive).pipe(
    Effect.tapErrorCause((cause) => Effect.logFatal(`start-up failed: ${startupFailure(cause)}`)),
    Effect.provide(LoggingLive),
    Effect.provide(Layer.merge(config, FeatureSettingsFromEnv)),
    BunRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
  )
