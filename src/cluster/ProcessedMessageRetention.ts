import { MachineId, Snowflake } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import * as Values from "../config/Values.ts"

/**
 * Deletes persisted entity messages that were processed longer ago than the retention, with
 * their replies. @effect/cluster keeps every message and reply it stores for good: every A2A
 * send, delivery and job is a message, so the two tables grew with everything the platform ever
 * did (at the 3,000 messages/s of issue #19, ~260 million rows a day). A processed message is
 * needed only to answer a duplicate of it (same primary key) with its stored reply, so keeping
 * them for the retention keeps that de-duplication for as long; the platform's own records
 * (tasks, deliveries, runs) live in their own tables and are untouched. Unprocessed messages
 * are never deleted, however old.
 *
 * A message's age is its id's: ids are Snowflakes, whose top bits are the time it was stored.
 * Each statement deletes at most BATCH requests (with the messages stored for them: interrupts,
 * acks) and their replies, so it never holds many locks for long; a pass repeats it until a
 * statement finds less than a batch. Rows another node is deleting are skipped (SKIP LOCKED),
 * so every node may run it.
 */

const BATCH = 2_000

export const RetentionSettings = Config.all({
  /** Processed messages older than this are deleted (hours; the de-duplication window). */
  retentionHours: Values.positiveNumber("CLUSTER_MESSAGE_RETENTION_HOURS").pipe(Config.withDefault(72)),
  /** How often a pass runs. */
  intervalSeconds: Values.positiveInteger("CLUSTER_MESSAGE_PRUNE_INTERVAL_SECONDS").pipe(Config.withDefault(300))
})

/**
 * One statement: the processed messages stored after Snowflake `$3` and before `$1`, at most
 * `$2` of them in id order; of those the requests (kind 0) go, with their replies and every
 * message stored for them (interrupts, acks). Answers how many it looked at, the last id (the
 * next statement's `$3`, so messages it keeps, such as a processed interrupt of a request still
 * running, are passed over rather than looked at again) and how many requests it deleted.
 * The messages are read by primary key range; the replies and other messages through their
 * request_id indexes, the ids given as an array (`= ANY`) so the planner looks them up rather
 * than reading either table.
 */
export const pruneStatement = (messages: string, replies: string) => `
  WITH oldest AS (
    SELECT id, kind FROM ${messages}
    WHERE id > $3::bigint AND id < $1::bigint AND processed
    ORDER BY id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ),
  requests AS (
    SELECT ARRAY(SELECT id FROM oldest WHERE kind = 0) AS ids
  ),
  gone_replies AS (
    DELETE FROM ${replies} WHERE request_id = ANY ((SELECT ids FROM requests)::bigint[])
  ),
  gone AS (
    DELETE FROM ${messages} WHERE request_id = ANY ((SELECT ids FROM requests)::bigint[]) RETURNING kind
  )
  SELECT (SELECT count(*) FROM oldest)::int AS looked,
         (SELECT max(id) FROM oldest)::text AS last_id,
         (SELECT count(*) FROM gone WHERE kind = 0)::int AS requests`

/** A Snowflake no message stored at or after `at` (ms since 1970) can be below. */
const idBefore = (at: number) => Snowflake.make({ timestamp: at, machineId: MachineId.make(0), sequence: 0 }).toString()

/**
 * One pass: deletes every processed request stored before `now - retention` (and its replies and
 * other messages), a batch per statement. Answers the number of requests deleted.
 */
export const prune = (options: {
  readonly retention: Duration.DurationInput
  readonly now?: number
  readonly prefix?: string
  readonly batch?: number
}) =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const prefix = options.prefix ?? "cluster"
    const statement = pruneStatement(`${prefix}_messages`, `${prefix}_replies`)
    const before = idBefore((options.now ?? Date.now()) - Duration.toMillis(options.retention))
    const batch = options.batch ?? BATCH
    let after = "-1"
    let requests = 0
    for (;;) {
      const [row] = yield* sql.unsafe<{ looked: number; last_id: string | null; requests: number }>(statement, [before, batch, after])
      requests += Number(row.requests)
      if (Number(row.looked) < batch || row.last_id === null) return requests
      after = row.last_id
    }
  })

/** Runs a pass every interval for as long as the layer lives (the first one an interval after start). */
export const ProcessedMessageRetentionLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const settings = yield* RetentionSettings
    const pass = prune({ retention: Duration.hours(settings.retentionHours) }).pipe(
      Effect.tap((n) => n > 0 ? Effect.logDebug("deleted processed cluster messages").pipe(Effect.annotateLogs({ requests: n })) : Effect.void),
      // A failed pass (database down) is tried again at the next interval.
      Effect.catchAllCause((cause) => Effect.logWarning("pruning processed cluster messages failed", cause))
    )
    yield* Effect.sleep(Duration.seconds(settings.intervalSeconds)).pipe(
      Effect.zipRight(pass),
      Effect.repeat(Schedule.spaced(Duration.seconds(settings.intervalSeconds))),
      Effect.forkScoped
    )
  })
).pipe(Layer.orDie)
