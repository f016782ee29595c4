import { BunRuntime } from "@effect/platform-bun"
import { Effect, Layer } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { startupFailure } from "./StartupFailure.ts"
import { PlatformLive } from "./Platform.ts"

/**
 * Composition root of `bun run runner`: one node of a multi-node cluster on a
 * real Postgres (DATABASE_URL). CLUSTER_MODE=client makes it a gateway that
 * hosts no entity; otherwise it is a runner (hosts shards) that also serves
 * the HTTP API.
 */
const RunnerConfig = Layer.effect(
  AppConfig,
  Effect.map(AppConfig.config, (c) => ({ ...c, clusterMode: c.clusterMode === "client" ? "client" as const : "runner" as const }))
)

Layer.launch(PlatformLive).pipe(
  Effect.tapErrorCause((cause) => Effect.logFatal(`start-up failed: ${startupFailure(cause)}`)),
  Effect.provide(LoggingLive),
  Effect.provide(RunnerConfig),
  BunRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
)
