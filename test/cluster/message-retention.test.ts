import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { MachineId, Snowflake } from "@effect/cluster"
import { SQL } from "bun"
import { ConfigProvider, Duration, Effect, Layer, ManagedRuntime } from "effect"
import { ProcessedMessageRetentionLive, prune, pruneStatement } from "../../src/cluster/ProcessedMessageRetention.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { rolledBack } from "../support/planDatabase.ts"
import { planNodes } from "../support/queryPlans.ts"
import { waitFor } from "../support/process.ts"
import { databaseAt } from "../support/singleNode.ts"

/**
 * Processed entity messages older than the retention are deleted with their replies and the
 * messages stored for them (interrupts); unprocessed ones and recent ones stay; the statement
 * never reads a whole table; the layer does it on its own every interval.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL
let runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof databaseAt>>, unknown>

const HOUR = 3_600_000
const now = Date.now()
/** A message id stored `hoursAgo` ago (the n-th of that millisecond). */
const idAt = (hoursAgo: number, n: number) =>
  Snowflake.make({ timestamp: now - hoursAgo * HOUR, machineId: MachineId.make(1), sequence: n }).toString()

/** A request (and its reply when processed), plus an interrupt stored for it when asked. */
const request = async (id: string, options: { processed: boolean; interrupt?: string }) => {
  await admin.unsafe(`
    INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
    VALUES (${id}, 'm-${id}', 'default:1', 'Agent', 'a', 0, 'Execute', '{}', '{}', ${id}, ${options.processed})`)
  if (options.processed) {
    await admin.unsafe(`INSERT INTO cluster_replies (id, kind, request_id, payload) VALUES (${BigInt(id) + 1n}, 0, ${id}, '{}')`)
  }
  if (options.interrupt !== undefined) {
    await admin.unsafe(`
      INSERT INTO cluster_messages (id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
      VALUES (${options.interrupt}, 'default:1', 'Agent', 'a', 2, 'Execute', '{}', '{}', ${id}, TRUE)`)
  }
}

const remaining = async () => {
  const rows = await admin.unsafe(`
    SELECT (SELECT array_agg(id::text ORDER BY id) FROM cluster_messages) AS messages,
           (SELECT array_agg(request_id::text ORDER BY id) FROM cluster_replies) AS replies`)
  return { messages: rows[0].messages ?? [], replies: rows[0].replies ?? [] }
}

const clear = () => admin.unsafe("DELETE FROM cluster_replies; DELETE FROM cluster_messages")

beforeAll(async () => {
  db = await createTestDatabase("message_retention")
  runtime = ManagedRuntime.make(databaseAt(db.url))
  await runtime.runPromise(Effect.void)
  admin = new SQL(db.url)
}, 120_000)

afterAll(async () => {
  await runtime?.dispose()
  await admin?.close()
  await db?.drop()
})

describe("processed cluster messages retention", () => {
  test("old processed requests go with their replies and interrupts; unprocessed and recent ones stay", async () => {
    await clear()
    const old = [1, 2, 3, 4, 5].map((n) => idAt(100, n))
    for (const id of old) await request(id, { processed: true })
    const oldInterrupted = idAt(90, 1)
    const interrupt = idAt(90, 2)
    await request(oldInterrupted, { processed: true, interrupt })
    const oldWaiting = idAt(200, 1)
    await request(oldWaiting, { processed: false })
    const recent = idAt(1, 1)
    await request(recent, { processed: true })

    // Batches of 2: the pass repeats until a statement finds less than a batch.
    const deleted = await runtime.runPromise(prune({ retention: Duration.hours(72), now, batch: 2 }))
    expect(deleted).toBe(6)
    expect(await remaining()).toEqual({ messages: [oldWaiting, recent].sort(), replies: [recent] })

    // Nothing older is left: a second pass deletes nothing.
    expect(await runtime.runPromise(prune({ retention: Duration.hours(72), now }))).toBe(0)
  })

  test("100,000 stored messages, no statistics: requests by primary key, replies and messages by request id", async () => {
    await rolledBack(admin, async (reserved) => {
      await reserved.unsafe(`
        INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
          SELECT g, 'p-' || g, 'default:' || (1 + g % 300), 'Agent', 'a', 0, 'Execute', '{}', '{}', g, TRUE FROM generate_series(1, 100000) AS g;
        INSERT INTO cluster_replies (id, kind, request_id, payload)
          SELECT 50000000 + g, 0, g, '{}' FROM generate_series(1, 100000) AS g`)
      await reserved.unsafe(`PREPARE prune_plan(bigint, int, bigint) AS ${pruneStatement("cluster_messages", "cluster_replies")}`)
      for (const mode of ["force_custom_plan", "force_generic_plan"]) {
        await reserved.unsafe(`SET LOCAL plan_cache_mode = ${mode}`)
        const [{ "QUERY PLAN": plan }] = await reserved.unsafe("EXPLAIN (FORMAT JSON) EXECUTE prune_plan(50000, 2000, -1)")
        const nodes = planNodes(plan)
        expect({ mode, scans: nodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"]) }).toEqual({ mode, scans: [] })
      }
    })
  }, 60_000)

  test("the layer prunes on its own every interval, as configured", async () => {
    await clear()
    const old = idAt(3, 1)
    await request(old, { processed: true })
    const kept = idAt(1, 1)
    await request(kept, { processed: true })
    const settings = ConfigProvider.fromMap(new Map([
      ["CLUSTER_MESSAGE_RETENTION_HOURS", "2"],
      ["CLUSTER_MESSAGE_PRUNE_INTERVAL_SECONDS", "1"]
    ]))
    const pruner = ManagedRuntime.make(
      ProcessedMessageRetentionLive.pipe(Layer.provide(databaseAt(db.url)), Layer.provide(Layer.setConfigProvider(settings)))
    )
    try {
      await pruner.runPromise(Effect.void)
      await waitFor(async () => (await remaining()).messages.length === 1, 10_000)
      expect(await remaining()).toEqual({ messages: [kept], replies: [kept] })
    } finally {
      await pruner.dispose()
    }
  }, 30_000)
})
