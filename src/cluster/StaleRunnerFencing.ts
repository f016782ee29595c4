import { SqlClient } from "@effect/sql"
import { Config, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import * as Values from "../config/Values.ts"

/**
 * Fencing of a runner that stopped without dying (SIGSTOP, a VM pause, a process stuck in the
 * kernel). @effect/cluster 0.60 holds each shard by a PostgreSQL session advisory lock on one
 * reserved connection ("lock connection"). A frozen process keeps its TCP connections, so
 * PostgreSQL never ends its session and its shards could not move to another runner for as
 * long as it was paused (measured: none moved in 45 s; the library marks it unhealthy but
 * cannot take its locks). Its lock connection, though, writes the runner's heartbeat at every
 * lock refresh (SHARD_LOCK_REFRESH_SECONDS): a session that holds shard locks and has been idle
 * longer than SHARD_LOCK_EXPIRATION_SECONDS belongs to a runner the cluster already counts as
 * dead. Every runner ends such sessions, which releases the locks; the runner, if it ever
 * resumes, finds its lock connection gone, rebuilds it and no longer gets the shards another
 * runner took meanwhile.
 *
 * Shard locks are the library's numbers (group index + 1) × 1,000,000 + shard (1..shardsPerGroup),
 * so the platform's other advisory locks (migrations, the alert evaluator) are never matched.
 */
const Settings = Config.all({
  expirationSeconds: Values.positiveInteger("SHARD_LOCK_EXPIRATION_SECONDS").pipe(Config.withDefault(6)),
  refreshSeconds: Values.positiveInteger("SHARD_LOCK_REFRESH_SECONDS").pipe(Config.withDefault(2))
})

export const StaleRunnerFencingLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (config.clusterMode !== "runner") return
    const settings = yield* Settings.pipe(Effect.orDie)
    const sql = yield* SqlClient.SqlClient
    // MATERIALIZED: pg_terminate_backend runs only on the rows selected, never on a row the
    // planner looked at before the other conditions.
    const fence = sql<{ pid: number }>`
      WITH stale AS MATERIALIZED (
        SELECT a.pid FROM pg_stat_activity a
        WHERE a.datname = current_database()
          AND a.pid <> pg_backend_pid()
          AND a.state = 'idle'
          AND a.state_change < now() - make_interval(secs => ${settings.expirationSeconds})
          AND EXISTS (
            SELECT 1 FROM pg_locks l
            WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
              AND l.classid = 0 AND l.objid::int8 BETWEEN 1000000 AND 99999999 AND l.objid::int8 % 1000000 <> 0
          )
      )
      SELECT pid FROM stale WHERE pg_terminate_backend(pid)`.pipe(
      Effect.tap((ended) =>
        ended.length === 0 ? Effect.void : Effect.logWarning("fenced a stale runner: ended its lock sessions").pipe(
          Effect.annotateLogs({ sessions: ended.length })
        )
      ),
      // The database may be away: the next round tries again.
      Effect.catchAllCause(() => Effect.void)
    )
    yield* fence.pipe(
      Effect.repeat(Schedule.spaced(`${settings.refreshSeconds} seconds`)),
      Effect.delay(`${settings.expirationSeconds} seconds`),
      Effect.interruptible,
      Effect.forkScoped
    )
  })
)
