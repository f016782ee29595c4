import { Effect, Layer } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { launchPlatform } from "./app/LaunchPlatform.ts"

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

launchPlatform(RunnerConfig)
