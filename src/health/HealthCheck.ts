import { ShardId, Sharding, ShardingConfig } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Option } from "effect"
import { ProcessingWatchdog } from "../cluster/ProcessingWatchdog.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { HealthReport } from "../domain/api/HealthApi.ts"

const startedAt = Date.now()

/** Probes the database, the cluster and the processing watchdog; never throws, reports what is down. */
export class HealthCheck extends Effect.Service<HealthCheck>()("Health/HealthCheck", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const shardingConfig = yield* ShardingConfig.ShardingConfig
    const config = yield* AppConfig
    const watchdog = yield* ProcessingWatchdog

    const database = Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const ok = yield* sql`SELECT 1`.pipe(
        Effect.timeout("2 seconds"),
        Effect.as(true),
        Effect.catchAllCause(() => Effect.succeed(false))
      )
      const latencyMs = (yield* Clock.currentTimeMillis) - t0
      return { ok, latencyMs, embedded: Option.isNone(config.databaseUrl) }
    })

    const cluster = Effect.gen(function*() {
      const shutdown = yield* sharding.isShutdown
      let ownedShards = 0
      for (const group of shardingConfig.assignedShardGroups) {
        for (let id = 1; id <= shardingConfig.shardsPerGroup; id++) {
          if (sharding.hasShardId(ShardId.make(group, id))) ownedShards++
        }
      }
      return {
        // A runner that holds no shard yet cannot serve entities: not ready.
        ok: !shutdown && (config.clusterMode === "client" || ownedShards > 0),
        mode: config.clusterMode,
        runner: config.clusterMode === "single"
          ? "local"
          : Option.match(shardingConfig.runnerAddress, { onNone: () => "client-only", onSome: (a) => `${a.host}:${a.port}` }),
        ownedShards
      }
    })

    const check = Effect.gen(function*() {
      const [db, cl, w] = yield* Effect.all([database, cluster, watchdog.state], { concurrency: 3 })
      return new HealthReport({
        status: db.ok && cl.ok && w.ok ? "ok" : "degraded",
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        database: db,
        cluster: cl,
        processing: {
          ok: w.ok,
          pendingMessages: w.pendingMessages,
          oldestPendingSeconds: w.oldestPendingSeconds,
          reason: Option.getOrUndefined(w.reason)
        }
      })
    })
    return { check } as const
  })
}) {}
