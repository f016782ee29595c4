import { SqlClient, type Statement } from "@effect/sql"
import { DateTime, Effect, Option, Schema } from "effect"
import { AgentReply, DeadLetter, DeliveryRecord } from "../domain/Orchestration.ts"

const Row = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  idempotencyKey: Schema.String,
  source: Schema.NullOr(Schema.String),
  targetId: Schema.String,
  request: Schema.Unknown,
  status: Schema.Literal("pending", "delivered", "dead_lettered"),
  attempts: Schema.Int,
  maxAttempts: Schema.Int,
  reply: Schema.Unknown,
  lastError: Schema.NullOr(Schema.String)
})

/** What the handler needs to send a stored delivery. */
export const StoredRequest = Schema.Struct({
  text: Schema.String,
  contextId: Schema.optional(Schema.String),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})
export type StoredRequest = typeof StoredRequest.Type

const json = (u: unknown): unknown => (typeof u === "string" ? JSON.parse(u) : u)
const decodeRow = Schema.decodeUnknown(Row)
const decodeReply = Schema.decodeUnknownOption(AgentReply)
const decodeRequest = Schema.decodeUnknown(StoredRequest)

/** From a decoded row: the class's own validation would check the same fields again (~40 µs a record). */
const toRecord = (r: typeof Row.Type) =>
  new DeliveryRecord({
    deliveryId: r.id,
    projectId: r.projectId,
    idempotencyKey: r.idempotencyKey,
    to: r.targetId,
    from: r.source,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    reply: r.reply === null ? null : Option.getOrNull(decodeReply(json(r.reply))),
    lastError: r.lastError
  }, true)

const columns = "id, project_id, idempotency_key, source, target_id, request, status, attempts, max_attempts, reply, last_error"

/** A delivery to store: the router's message and its limits. */
export interface NewDelivery {
  readonly id: string
  readonly projectId: string
  readonly idempotencyKey: string
  readonly from: string | null
  readonly to: string
  readonly request: StoredRequest
  readonly maxAttempts: number
}

/** The delivery log: one row per (project, idempotency key), the source of truth for status. */
export class DeliveryRepo extends Effect.Service<DeliveryRepo>()("Orchestrator/DeliveryRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const cols = sql.literal(columns)

    const one = (rows: ReadonlyArray<unknown>) =>
      rows.length === 0
        ? Effect.succeed(Option.none<{ record: DeliveryRecord; request: StoredRequest }>())
        : Effect.gen(function*() {
          const row = yield* decodeRow(rows[0])
          const request = yield* decodeRequest(json(row.request))
          return Option.some({ record: toRecord(row), request })
        })

    /**
     * Inserts the delivery unless its idempotency key was used before in the project, when
     * `target` (a subquery answering the target as JSON: `RegistryRepo.entryJson`) finds it,
     * reading it in the same statement. Answers the target as read (null: not found, nothing
     * stored) and the stored delivery, `created` saying whether it is new (a second statement
     * reads it back only when the key was used before).
     */
    const createFor = (input: NewDelivery, target: Statement.Fragment) =>
      Effect.gen(function*() {
        const rows = yield* sql`
          WITH target AS (SELECT ${target} AS entry),
          inserted AS (
            INSERT INTO orchestrator_deliveries (id, project_id, idempotency_key, source, target_id, request, status, max_attempts)
            SELECT ${input.id}, ${input.projectId}, ${input.idempotencyKey}, ${input.from}, ${input.to},
              ${JSON.stringify(input.request)}::jsonb, 'pending', ${input.maxAttempts}
            FROM target WHERE target.entry IS NOT NULL
            ON CONFLICT DO NOTHING
            RETURNING ${cols}
          )
          SELECT target.entry AS target_entry, inserted.* FROM target LEFT JOIN inserted ON TRUE`
        const row = rows[0] as { targetEntry: unknown; id: string | null }
        if (row.targetEntry === null) return { target: null, stored: undefined }
        if (row.id !== null) return { target: row.targetEntry, stored: { created: true, ...Option.getOrThrow(yield* one(rows)) } }
        const existing = yield* sql`SELECT ${cols} FROM orchestrator_deliveries
          WHERE project_id = ${input.projectId} AND idempotency_key = ${input.idempotencyKey}`
        return { target: row.targetEntry, stored: { created: false, ...Option.getOrThrow(yield* one(existing)) } }
      }).pipe(Effect.orDie)

    /** `createFor` with no target to find: the delivery as stored (new or earlier). */
    const create = (input: NewDelivery) =>
      Effect.map(createFor(input, sql`'{}'::json`), ({ stored }) => stored!)

    const get = (id: string) =>
      sql`SELECT ${cols} FROM orchestrator_deliveries WHERE id = ${id}`.pipe(Effect.flatMap(one), Effect.orDie)

    /**
     * Opens a pending delivery for its first attempt of this run: counts the
     * attempt and returns the row in one statement. None: the delivery is not
     * pending (finished, or unknown); `get` says which.
     */
    const begin = (id: string) =>
      sql`UPDATE orchestrator_deliveries SET attempts = attempts + 1, updated_at = now()
          WHERE id = ${id} AND status = 'pending' RETURNING ${cols}`.pipe(Effect.flatMap(one), Effect.orDie)

    /** Counts the attempt before making it: a crash mid-attempt still counts towards the bound. */
    const startAttempt = (id: string) =>
      sql`UPDATE orchestrator_deliveries SET attempts = attempts + 1, updated_at = now()
          WHERE id = ${id} RETURNING attempts`.pipe(
        Effect.map((rows) => Number((rows[0] as { attempts: number }).attempts)),
        Effect.orDie
      )

    /** `countAttempt`: the attempt was not counted when it started (a fresh delivery's first, see `markDelivered`). */
    const recordError = (id: string, error: string, countAttempt = false) =>
      sql`UPDATE orchestrator_deliveries SET last_error = ${error}, attempts = attempts + ${countAttempt ? 1 : 0},
            updated_at = now() WHERE id = ${id}`.pipe(
        Effect.asVoid,
        Effect.orDie
      )

    /**
     * Only a pending delivery becomes delivered: a late duplicate cannot overwrite the first reply.
     * Returns the delivered record; None when it was no longer pending (read it with `get`).
     * `countAttempt`: the attempt is counted with its outcome, not before it — a fresh delivery's
     * first attempt, made moments after `create` in the process that created it, is not opened
     * by a statement of its own (`begin`); if that process dies during it, the delivery resumes
     * elsewhere through `begin`, so at most that one attempt goes uncounted.
     */
    const markDelivered = (id: string, reply: AgentReply, countAttempt = false) =>
      sql`UPDATE orchestrator_deliveries SET status = 'delivered', reply = ${JSON.stringify(reply)}::jsonb,
            last_error = NULL, attempts = attempts + ${countAttempt ? 1 : 0}, delivered_at = now(), updated_at = now()
          WHERE id = ${id} AND status = 'pending' RETURNING ${cols}`.pipe(
        Effect.flatMap(one),
        Effect.map(Option.map((s) => s.record)),
        Effect.orDie
      )

    const markDeadLettered = (id: string, reason: string) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql`UPDATE orchestrator_deliveries SET status = 'dead_lettered', last_error = ${reason},
            updated_at = now() WHERE id = ${id} AND status = 'pending'
          RETURNING project_id, target_id, attempts, request`
        if (rows.length === 0) return
        const r = rows[0] as { projectId: string; targetId: string; attempts: number; request: unknown }
        yield* sql`INSERT INTO orchestrator_dead_letters (delivery_id, project_id, target_id, reason, attempts, request)
          VALUES (${id}, ${r.projectId}, ${r.targetId}, ${reason}, ${r.attempts},
            ${JSON.stringify(json(r.request))}::jsonb)
          ON CONFLICT (delivery_id) DO NOTHING`
      })).pipe(Effect.orDie)

    /**
     * The project's pending deliveries, counted up to `limit` (PendingBound: past it the exact
     * number does not matter, and the count reads no further). Over the (project, status) index.
     */
    const countPending = (projectId: string, limit: number) =>
      sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM orchestrator_deliveries
          WHERE project_id = ${projectId} AND status = 'pending' LIMIT ${limit}) pending`.pipe(
        Effect.map((rows) => Number((rows[0] as { n: number }).n)),
        Effect.orDie
      )

    const listDeadLetters = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0
        ? Effect.succeed([])
        : sql`SELECT delivery_id, project_id, target_id, reason, attempts, request, created_at
            FROM orchestrator_dead_letters WHERE ${sql.in("project_id", projectIds)}
            ORDER BY created_at DESC LIMIT 500`.pipe(
            Effect.map((rows) =>
              rows.map((row) => {
                const r = row as {
                  deliveryId: string
                  projectId: string
                  targetId: string
                  reason: string
                  attempts: number
                  request: unknown
                  createdAt: Date | string
                }
                return new DeadLetter({
                  deliveryId: r.deliveryId,
                  projectId: r.projectId,
                  to: r.targetId,
                  reason: r.reason,
                  attempts: Number(r.attempts),
                  request: json(r.request),
                  createdAt: DateTime.unsafeFromDate(new Date(r.createdAt))
                })
              })
            ),
            Effect.orDie
          )

    return { create, createFor, get, begin, startAttempt, recordError, markDelivered, markDeadLettered, countPending, listDeadLetters } as const
  })
}) {}
