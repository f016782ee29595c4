import { ShardingConfig, SqlRunnerStorage } from "@effect/cluster"
import { BunClusterSocket } from "@effect/platform-bun"
import { PgClient } from "@effect/sql-pg"
import { Layer, Option, Redacted } from "effect"
import * as BatchedMessageStorage from "../../src/cluster/BatchedMessageStorage.ts"

/**
 * This test process as a client-only node of a cluster on `databaseUrl`:
 * entity clients send through SQL storage to whichever runner owns the shard.
 * It sees runners join and leave as the platform's own nodes do (ClusterLive's
 * defaults): with the library's 35 s heartbeat expiry and 3 s refresh it kept
 * routing to a killed runner for up to 35 s after the runners had moved its shards.
 * Its message storage is the platform's (BatchedMessageStorage), as a gateway node's.
 */
const clientSharding = {
  runnerAddress: Option.none(),
  entityReplyPollInterval: "200 millis",
  sendRetryInterval: "100 millis",
  shardLockExpiration: "6 seconds",
  refreshAssignmentsInterval: "1 second"
} satisfies Partial<ShardingConfig.ShardingConfig["Type"]>

export const clusterClientLayer = (databaseUrl: string) =>
  BunClusterSocket.layer({ clientOnly: true, storage: "byo", shardingConfig: clientSharding }).pipe(
    Layer.provideMerge(Layer.orDie(BatchedMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layerFromEnv(clientSharding)),
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 10 }))
  )
