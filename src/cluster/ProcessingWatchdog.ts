import { ShardId, Sharding, ShardingConfig, Snowflake } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Clock, Config, Effect, Metric, Option, Ref, Schedule } from "effect"

/**
 * Detects that entity messages stopped being processed while work waits.
 *
 * HTTP can keep answering while the cluster's message processing is stuck (a
 * handler blocked on a lock, a dead storage poll, a full mailbox): /health then
 * looked fine. Every persisted message waits in cluster_messages until its
 * reply is saved, so this samples, for the shards this node owns, the
 * unprocessed requests that are due (deliver_at passed) and the oldest one's age.
 *
 * Stalled means: something due has waited longer than WATCHDOG_STALL_SECONDS
 * and no message that was pending at an earlier sample finished within that
 * time. The second condition keeps one long handler (a slow LLM turn) from
 * marking a node that keeps processing everything else; a node whose only
 * work is one handler stuck longer than the limit is reported, which is the point.
 */

const WatchdogSettings = Config.all({
  // Longer than any legitimate handler should take without another message finishing meanwhile.
  stallSeconds: Config.integer("WATCHDOG_STALL_SECONDS").pipe(Config.withDefault(120)),
  intervalSeconds: Config.integer("WATCHDOG_INTERVAL_SECONDS").pipe(Config.withDefault(5))
})

export const WatchdogMetrics = {
  unprocessed: Metric.gauge("cluster_messages_unprocessed", {
    description: "Persisted entity requests due on this node's shards and not yet answered"
  }),
  oldestAge: Metric.gauge("cluster_messages_oldest_unprocessed_seconds", {
    description: "Age of the oldest due, unanswered persisted request on this node's shards (0 when none)"
  }),
  stalled: Metric.gauge("cluster_processing_stalled", {
    description: "1 while the processing watchdog sees pending work and no progress"
  })
}

export interface WatchdogState {
  readonly ok: boolean
  readonly pendingMessages: number
  readonly oldestPendingSeconds: number
  /** Why processing is reported stalled; absent when ok. */
  readonly reason: Option.Option<string>
}

interface Sample {
  readonly pending: number
  readonly maxId: bigint
}

// Snowflake ids carry their creation time: the message's age needs no extra column.
const snowflakeEpochMs = Snowflake.timestamp(Snowflake.Snowflake(0n))

export class ProcessingWatchdog extends Effect.Service<ProcessingWatchdog>()("Cluster/ProcessingWatchdog", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const shardingConfig = yield* ShardingConfig.ShardingConfig
    const settings = yield* WatchdogSettings
    const stallMs = settings.stallSeconds * 1000

    const state = yield* Ref.make<WatchdogState>({
      ok: true,
      pendingMessages: 0,
      oldestPendingSeconds: 0,
      reason: Option.none()
    })
    let previous: Sample | undefined
    let lastProgressAt = yield* Clock.currentTimeMillis

    const ownedShards = () => {
      const ids: Array<string> = []
      for (const group of shardingConfig.assignedShardGroups) {
        for (let id = 1; id <= shardingConfig.shardsPerGroup; id++) {
          const shard = ShardId.make(group, id)
          if (sharding.hasShardId(shard)) ids.push(shard.toString())
        }
      }
      return ids
    }

    const sample = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const shards = ownedShards()
      if (shards.length === 0) {
        previous = undefined
        lastProgressAt = now
        return { ok: true, pendingMessages: 0, oldestPendingSeconds: 0, reason: Option.none() }
      }
      const prevMax = previous?.maxId ?? -1n
      // kind 0 = Request (acks and interrupts are bookkeeping). A deferred message is due from deliver_at.
      const [row] = yield* sql<{ pending: number; oldestMs: string | null; maxId: string | null; stillPending: number }>`
        SELECT count(*)::int AS pending,
               min(GREATEST((id >> 22) + ${snowflakeEpochMs}, COALESCE(deliver_at, 0)))::text AS oldest_ms,
               max(id)::text AS max_id,
               (count(*) FILTER (WHERE id <= ${prevMax.toString()}::bigint))::int AS still_pending
        FROM cluster_messages
        WHERE shard_id IN ${sql.in(shards)}
          AND processed = false
          AND kind = 0
          AND (deliver_at IS NULL OR deliver_at <= ${now})`
      const pending = row.pending
      const oldestMs = row.oldestMs === null ? now : Number(row.oldestMs)
      // Progress: nothing waits, or a message pending at the last sample has been answered since.
      if (pending === 0 || previous === undefined || row.stillPending < previous.pending) lastProgressAt = now
      previous = { pending, maxId: row.maxId === null ? prevMax : BigInt(row.maxId) }
      const oldestPendingSeconds = pending === 0 ? 0 : Math.max(0, Math.round((now - oldestMs) / 1000))
      const stalled = pending > 0 && now - oldestMs > stallMs && now - lastProgressAt > stallMs
      return {
        ok: !stalled,
        pendingMessages: pending,
        oldestPendingSeconds,
        reason: stalled
          ? Option.some(
            `entity message processing stalled: ${pending} persisted message(s) pending, oldest ${oldestPendingSeconds} s, none answered for ${
              Math.round((now - lastProgressAt) / 1000)
            } s`
          )
          : Option.none()
      } satisfies WatchdogState
    })

    const tick = sample.pipe(
      Effect.tap((s) =>
        Effect.all([
          Metric.set(WatchdogMetrics.unprocessed, s.pendingMessages),
          Metric.set(WatchdogMetrics.oldestAge, s.oldestPendingSeconds),
          Metric.set(WatchdogMetrics.stalled, s.ok ? 0 : 1)
        ])
      ),
      Effect.flatMap((s) => Ref.set(state, s)),
      Effect.timeout("5 seconds"),
      // A failed sample (database down or slow) keeps the last verdict; the database check reports the outage.
      Effect.catchAllCause((cause) => Effect.logDebug("processing watchdog: sample failed", cause))
    )

    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(`${settings.intervalSeconds} seconds`)),
      Effect.delay("1 second"),
      Effect.forkScoped
    )

    return { state: Ref.get(state) } as const
  })
}) {}
