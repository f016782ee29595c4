import { BunRuntime } from "@effect/platform-bun"
import { Config, Effect, Layer } from "effect"
import type { AppConfig } from "../config/AppConfig.ts"
import { LoggingLive } from "../observability/Logging.ts"
import { PlatformLive } from "./Platform.ts"
import { FeatureSettingsFromEnv } from "./Settings.ts"
import { settingsFailure, startupFailure } from "./StartupFailure.ts"
import * as Values from "../config/Values.ts"
import { EmbeddingsConfig } from "../embeddings/EmbeddingsConfig.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import { DeliveryConfig } from "../orchestrator/DeliveryLive.ts"
import { PatternsConfig } from "../orchestrator/Patterns.ts"
import { OrchestratorConfig } from "../orchestrator/Registry.ts"
import { RouterConfig } from "../orchestrator/Router.ts"
import { RagConfig } from "../rag/RagConfig.ts"

/**
 * Runs `PlatformLive` as this process's main program with the given process
 * settings (features read theirs from the environment):
 * JSON logging, and a start-up failure reported as one readable log line
 * (the cause's message), not a stack dump. Shared by both composition roots.
 */
export const launchPlatform = (config: Layer.Layer<AppConfig, unknown>) =>
  Effect.zipRight(Effect.zipRight(lateSettings, shutdownBudget), Layer.launch(PlatformLive)).pipe(
    Effect.tapErrorCause((cause) =>
      settingsFailure(cause).length > 0 ? Effect.void : Effect.logFatal(`start-up failed: ${startupFailure(cause)}`)
    ),
    Effect.provide(LoggingLive),
    Effect.provide(Layer.merge(config, FeatureSettingsFromEnv)),
    // A bad setting fails before the logger exists (the logger itself reads LOG_LEVEL and
    // LOG_FORMAT), so a settings error is written to stderr directly, one line per variable.
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        const lines = settingsFailure(cause)
        if (lines.length > 0) process.stderr.write(`start-up failed: ${lines.join("; ")}\n`)
      })
    ),
    BunRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
  )

/**
 * Settings that features read only when their layer is built, some after the
 * database is up (seconds on a first start): read once before anything starts
 * so a bad value stops the process at once, every bad one named together.
 */
const lateSettings = Config.all([
  RagConfig.config,
  LlmConfig.config,
  EmbeddingsConfig.config,
  PatternsConfig,
  OrchestratorConfig,
  RouterConfig,
  DeliveryConfig,
  // Read by their modules with Effect's own Config.integer (no range, a defect on a bad value):
  // checked here so a bad one is named with what it accepts, like the others.
  Values.positiveInteger("A2A_SSE_KEEPALIVE_SECONDS").pipe(Config.withDefault(15)),
  Values.positiveInteger("WATCHDOG_STALL_SECONDS").pipe(Config.withDefault(120)),
  Values.positiveInteger("WATCHDOG_INTERVAL_SECONDS").pipe(Config.withDefault(5))
])

/**
 * SIGTERM / SIGINT interrupt the main fiber and run every finalizer; one that
 * waits on something that no longer answers (a stalled database, a stuck
 * stream) must not keep the process alive: past SHUTDOWN_TIMEOUT_SECONDS
 * (default 10) it exits with status 1 (issue #21).
 */
const shutdownBudget = Effect.gen(function*() {
  const seconds = yield* Values.positiveInteger("SHUTDOWN_TIMEOUT_SECONDS").pipe(Config.withDefault(10))
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
