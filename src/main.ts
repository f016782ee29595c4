import { BunRuntime } from "@effect/platform-bun"
import { Effect, Layer } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { startupFailure } from "./StartupFailure.ts"
import { PlatformLive } from "./Platform.ts"

// Composition root of `bun run dev`: everything in one process.
Layer.launch(PlatformLive).pipe(
  // A start-up failure is one readable log line (the cause's message), not a stack dump.
  Effect.tapErrorCause((cause) => Effect.logFatal(`start-up failed: ${startupFailure(cause)}`)),
  Effect.provide(LoggingLive),
  Effect.provide(AppConfig.layer),
  BunRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
)
