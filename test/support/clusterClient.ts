import { ShardingConfig } from "@effect/cluster"
import { BunClusterSocket } from "@effect/platform-bun"
import { PgClient } from "@effect/sql-pg"
import { Layer, Option, Redacted } from "effect"

/**
 * This test process as a client-only node of a cluster on `databaseUrl`:
 * entity clients send through SQL storage to whichever runner owns the shard.
 */
export const clusterClientLayer = (databaseUrl: string) =>
  BunClusterSocket.layer({
    clientOnly: true,
    storage: "sql",
    shardingConfig: {
      runnerAddress: Option.none(),
      entityReplyPollInterval: "200 millis",
      sendRetryInterval: "100 millis"
    } satisfies Partial<ShardingConfig.ShardingConfig["Type"]>
  }).pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 10 })))
