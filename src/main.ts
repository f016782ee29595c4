import { BunRuntime } from "@effect/platform-bun"
import { Effect, Layer } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { PlatformLive } from "./Platform.ts"

// Composition root of `bun run dev`: everything in one process.
Layer.launch(PlatformLive).pipe(
  Effect.provide(LoggingLive),
  Effect.provide(AppConfig.layer),
  BunRuntime.runMain({ disablePrettyLogger: true })
)
