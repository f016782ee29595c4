import { ShardingConfig, SingleRunner } from "@effect/cluster"
import { Layer } from "effect"

const shardingConfig: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  // Poll storage often: after a restart unprocessed persisted messages are picked up quickly.
  entityMessagePollInterval: "1 second",
  entityReplyPollInterval: "200 millis"
}

/**
 * Single-process cluster for `bun run dev`: every shard lives here, messages
 * and replies are persisted in SQL (cluster_messages / cluster_replies) so
 * persisted entity messages survive a restart.
 *
 * The multi-node runner (`src/runner.ts`) swaps this for `BunClusterSocket`
 * with the same entity layers. ShardingConfig is exposed too (SingleRunner
 * keeps its own private) for the health report.
 */
export const SingleNodeClusterLive = Layer.merge(
  SingleRunner.layer({ runnerStorage: "sql", shardingConfig }),
  ShardingConfig.layer(shardingConfig)
).pipe(Layer.orDie)
