import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Layer, Schema } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import { exitGroupStatement, exitRows } from "../../src/cluster/MessageStorageStatements.ts"
import * as ReplyWrites from "../../src/cluster/ReplyWrites.ts"
import { type MessageStorageKind, singleNodeClusterWith } from "../../src/cluster/ClusterLive.ts"
import { DeliveryProbeLive } from "../../src/system/DeliveryProbeLive.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { sequentialScans } from "../support/queryPlans.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * The single-node cluster with BatchedMessageStorage on the local PostgreSQL 15: persisted
 * messages sent many at a time (so their request and reply writes are grouped) are each
 * answered, applied once and stored as the library stores them; duplicates, in one group or
 * later, and messages first stored by the library's own storage are recognised.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL

/**
 * A persisted message whose attached write fails whenever its group holds more than one row
 * (division by zero), and succeeds alone: its replies go through the storage's one-at-a-time
 * path.
 */
const Loner = Entity.make("Loner", [
  Rpc.make("Note", { payload: { n: Schema.Int }, success: Schema.Struct({ n: Schema.Int }), primaryKey: (p) => String(p.n) })
    .annotate(ClusterSchema.Persisted, true)
])
const lonerWrite: ReplyWrites.ReplyWriteKind<number> = {
  name: "loner_note",
  parameterCount: 1,
  parameters: (rows) => [rows],
  ctes: (p) => `loner_note AS (
    INSERT INTO loner_notes (n) SELECT n / (CASE WHEN cardinality($${p}::int[]) > 1 THEN 0 ELSE 1 END) FROM unnest($${p}::int[]) AS t(n)
  )`
}
const LonerLive = Loner.toLayer(Effect.gen(function*() {
  const withReply = yield* ReplyWrites.forEntity(Loner)
  return Loner.of({ Note: (request) => Effect.orDie(withReply(request, { n: request.payload.n }, lonerWrite, request.payload.n)) })
}))

const clusterOn = (kind: MessageStorageKind) =>
  singleNodeRuntime(Layer.merge(DeliveryProbeLive, LonerLive), db.url, { cluster: singleNodeClusterWith(kind) })

type Runtime = ReturnType<typeof clusterOn>
const applyAll = (runtime: Runtime, messages: ReadonlyArray<{ entityId: string; messageId: string; amount: number }>) =>
  runtime.runPromise(Effect.gen(function*() {
    const probe = yield* DeliveryProbe.client
    return yield* Effect.forEach(messages, (m) => probe(m.entityId).Apply({ messageId: m.messageId, amount: m.amount }), {
      concurrency: "unbounded"
    })
  }))
const totals = (runtime: Runtime, entityId: string) =>
  runtime.runPromise(Effect.flatMap(DeliveryProbe.client, (probe) => probe(entityId).Totals()))

beforeAll(async () => {
  db = await createTestDatabase("batched_storage")
  admin = new SQL(db.url)
})

afterAll(async () => {
  await admin?.close()
  await db?.drop()
})

describe("BatchedMessageStorage", () => {
  test("500 concurrent persisted messages: each answered, applied once, stored and marked processed", async () => {
    const runtime = clusterOn("batched")
    try {
      const messages = Array.from({ length: 500 }, (_, i) => ({ entityId: `e-${i % 50}`, messageId: `c-${i}`, amount: 1 + (i % 3) }))
      const replies = await applyAll(runtime, messages)
      expect(replies.every((r) => r.applied)).toBe(true)
      const t = await totals(runtime, "e-7")
      const expected = messages.filter((m) => m.entityId === "e-7").reduce((a, m) => a + m.amount, 0)
      expect(t).toEqual({ total: expected, applied: 10, deliveries: 10 })
      const [stored] = await admin`
        SELECT count(*)::int AS messages, count(*) FILTER (WHERE processed)::int AS processed,
               count(*) FILTER (WHERE last_reply_id IS NOT NULL)::int AS with_reply
        FROM cluster_messages WHERE message_id LIKE 'DeliveryProbe/%/Apply/c-%'`
      expect(stored).toEqual({ messages: 500, processed: 500, with_reply: 500 })
      const [exits] = await admin`
        SELECT count(*)::int AS n FROM cluster_replies r JOIN cluster_messages m ON m.id = r.request_id
        WHERE r.kind = 0 AND m.message_id LIKE 'DeliveryProbe/%/Apply/c-%'`
      expect(exits.n).toBe(500)
    } finally {
      await runtime.dispose()
    }
  }, 120_000)

  test("a message id sent twice in one group and again later is applied once and answered each time", async () => {
    const runtime = clusterOn("batched")
    try {
      const same = { entityId: "dup", messageId: "d-1", amount: 5 }
      const first = await applyAll(runtime, [same, same, same, { entityId: "dup", messageId: "d-2", amount: 1 }])
      expect(first.map((r) => r.applied)).toEqual([true, true, true, true])
      const again = await applyAll(runtime, [same])
      expect(again).toEqual([{ applied: true }])
      expect(await totals(runtime, "dup")).toEqual({ total: 6, applied: 2, deliveries: 2 })
    } finally {
      await runtime.dispose()
    }
  }, 120_000)

  test("a handler's attached write commits in its reply's transaction, grouped; alone under the library's storage", async () => {
    // Which transaction wrote a row: its xmin. Apply attaches its effect to its reply (ReplyWrites).
    const writers = async (prefix: string) => {
      const rows = await admin`
        SELECT e.xmin::text AS effect, r.xmin::text AS reply
        FROM delivery_probe_effects e
        JOIN cluster_messages m ON m.message_id = 'DeliveryProbe/' || e.entity_id || '/Apply/' || e.message_id
        JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
        WHERE e.message_id LIKE ${prefix + "%"}`
      return {
        rows: rows.length,
        withItsReply: rows.filter((r: { effect: string; reply: string }) => r.effect === r.reply).length,
        transactions: new Set(rows.map((r: { effect: string }) => r.effect)).size
      }
    }
    const messages = (prefix: string) =>
      Array.from({ length: 60 }, (_, i) => ({ entityId: `${prefix}${i % 30}`, messageId: `${prefix}${i}`, amount: 2 }))
    for (const kind of ["batched", "library"] as const) {
      const runtime = clusterOn(kind)
      try {
        const sent = messages(`tx-${kind}-`)
        expect(await applyAll(runtime, sent)).toEqual(sent.map(() => ({ applied: true })))
        const seen = await writers(`tx-${kind}-`)
        expect(seen.rows).toBe(sent.length)
        if (kind === "batched") {
          expect(seen.withItsReply).toBe(sent.length)
          // Grouped: 30 entities answering at once share a few commits, not one each.
          expect(seen.transactions).toBeLessThan(sent.length / 2)
        } else {
          expect(seen.withItsReply).toBe(0)
        }
        expect(await totals(runtime, `tx-${kind}-7`)).toEqual({ total: 4, applied: 2, deliveries: 2 })
      } finally {
        await runtime.dispose()
      }
    }
  }, 120_000)

  test("a group whose attached writes fail is stored one reply at a time, each write still with its reply", async () => {
    await admin`CREATE TABLE IF NOT EXISTS loner_notes (n INTEGER PRIMARY KEY)`
    const rollbacks = async () => {
      const [row] = await admin`SELECT xact_rollback::int AS n FROM pg_stat_database WHERE datname = current_database()`
      return row.n as number
    }
    const rolledBackBefore = await rollbacks()
    const runtime = clusterOn("batched")
    try {
      const ns = Array.from({ length: 40 }, (_, i) => i + 1)
      const answers = await runtime.runPromise(Effect.gen(function*() {
        const loner = yield* Loner.client
        return yield* Effect.forEach(ns, (n) => loner(`l-${n % 20}`).Note({ n }), { concurrency: "unbounded" })
      }))
      expect(answers).toEqual(ns.map((n) => ({ n })))
      const rows = await admin`
        SELECT l.n, l.xmin::text AS note, r.xmin::text AS reply
        FROM loner_notes l
        JOIN cluster_messages m ON m.message_id = 'Loner/l-' || (l.n % 20) || '/Note/' || l.n
        JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0`
      expect(rows.length).toBe(ns.length)
      expect(rows.filter((r: { note: string; reply: string }) => r.note === r.reply).length).toBe(ns.length)
      // Alone: one transaction per write.
      expect(new Set(rows.map((r: { note: string }) => r.note)).size).toBe(ns.length)
    } finally {
      await runtime.dispose()
    }
    // After group statements that failed: rolled back (counted once the pool's sessions end).
    const deadline = Date.now() + 10_000
    while ((await rollbacks()) === rolledBackBefore && Date.now() < deadline) await Bun.sleep(50)
    expect(await rollbacks()).toBeGreaterThan(rolledBackBefore)
  }, 120_000)

  test("a long primary key (hashed) stored by the library's storage is recognised by ours", async () => {
    // entity id + message id make a primary key over 255 characters: both storages store its SHA-256.
    const long = { entityId: `long-${"x".repeat(200)}`, messageId: `l-${"y".repeat(100)}`, amount: 3 }
    const library = clusterOn("library")
    try {
      expect(await applyAll(library, [long])).toEqual([{ applied: true }])
    } finally {
      await library.dispose()
    }
    const runtime = clusterOn("batched")
    try {
      expect(await applyAll(runtime, [long, long])).toEqual([{ applied: true }, { applied: true }])
      expect(await totals(runtime, long.entityId)).toEqual({ total: 3, applied: 1, deliveries: 1 })
      const [row] = await admin`SELECT count(*)::int AS n FROM cluster_messages WHERE entity_id = ${long.entityId}`
      expect(row.n).toBe(1)
    } finally {
      await runtime.dispose()
    }
  }, 120_000)

  test("a group of replies finds its requests through the request_id index, with or without table statistics", async () => {
    // Copies of the tables as the cluster makes them (its start migrates them), with 20,000
    // answered messages and never analyzed (autovacuum off for them): what a new database looks
    // like before autovacuum has run. A plan that joins by request_id scans the whole table for
    // every group.
    const runtime = clusterOn("batched")
    await runtime.runPromise(DeliveryProbe.client).finally(() => runtime.dispose())
    await admin.unsafe(`
      CREATE TABLE plan_messages (LIKE cluster_messages INCLUDING ALL) WITH (autovacuum_enabled = false);
      CREATE TABLE plan_replies (LIKE cluster_replies INCLUDING ALL) WITH (autovacuum_enabled = false);
      INSERT INTO plan_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
      SELECT 9000000 + g, 'plan-' || g, 'default:1', 'Probe', 'p', 0, 'Apply', '{}', '{}', 9000000 + g, TRUE
      FROM generate_series(1, 20000) AS g`)
    const requestIds = Array.from({ length: 64 }, (_, i) => 9000001 + i * 97)
    const exitParams = (ids: ReadonlyArray<number>) =>
      `'${exitRows(ids.map((id) => ({ id: String(id + 50_000_000), requestId: String(id), payload: "x" })))}'::jsonb`
    const params = exitParams(requestIds)
    const reserved = await admin.reserve()
    try {
      await reserved.unsafe(`PREPARE exits(jsonb) AS ${exitGroupStatement("plan_messages", "plan_replies")}`)
      // A custom plan (the actual group), then the generic plan a prepared statement keeps.
      for (const mode of ["force_custom_plan", "force_generic_plan"]) {
        await reserved.unsafe(`SET plan_cache_mode = ${mode}`)
        const [{ "QUERY PLAN": plan }] = await reserved.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE exits(${params})`)
        expect({ mode, scans: sequentialScans(plan) }).toEqual({ mode, scans: [] })
      }
      // Auto mode, as the platform runs it, for a lone caller's groups of one reply: after its
      // first custom plans PostgreSQL keeps the generic one (custom plans were chosen every time
      // while the rows came as arrays whose length the planner read: planning cost more than the
      // statement, issue #19).
      await reserved.unsafe(`SET plan_cache_mode = auto`)
      await reserved.unsafe(`PREPARE lone_exits(jsonb) AS ${exitGroupStatement("plan_messages", "plan_replies")}`)
      for (let i = 0; i < 8; i++) await reserved.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE lone_exits(${exitParams([requestIds[i]])})`)
      const [lone] = await reserved.unsafe(`SELECT generic_plans::int AS n FROM pg_prepared_statements WHERE name = 'lone_exits'`)
      expect(lone.n).toBeGreaterThanOrEqual(3)
      // And it does what the library's saveReply does: each request answered and marked processed.
      await reserved.unsafe(`EXECUTE exits(${params})`)
      const [done] = await reserved.unsafe(`
        SELECT count(*) FILTER (WHERE m.processed AND m.last_reply_id = m.id + 50000000)::int AS answered
        FROM plan_messages m WHERE m.id IN (${requestIds.join(",")})`)
      expect(done.answered).toBe(requestIds.length)
    } finally {
      reserved.release()
    }
  }, 60_000)
})
