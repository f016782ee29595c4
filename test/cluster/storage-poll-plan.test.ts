import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { MessageStorage, ShardId, ShardingConfig } from "@effect/cluster"
import { Statement } from "@effect/sql"
import { SQL } from "bun"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as BatchedMessageStorage from "../../src/cluster/BatchedMessageStorage.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { rolledBack } from "../support/planDatabase.ts"
import { planNodes } from "../support/queryPlans.ts"
import { databaseAt } from "../support/singleNode.ts"

/**
 * The cluster's storage poll (@effect/cluster's query for unprocessed messages, every second
 * on every runner) on a database whose message tables hold 100,000 processed messages and
 * their replies and have no statistics (the embedded database never gathers any; a new
 * PostgreSQL table has none before autovacuum's first ANALYZE): it reads the messages
 * through the index of unprocessed ones (sql/0160), never the whole table, and still finds
 * the one message waiting. Without that index the poll read every message the platform
 * ever handled: 31 ms per poll on the embedded database at 100,000 (issue #19).
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL
let runtime: ManagedRuntime.ManagedRuntime<MessageStorage.MessageStorage, unknown>

/** The statements the storage ran for one poll of every shard of the default group, as text and parameters. */
const pollStatements = async () => {
  const seen: Array<readonly [string, ReadonlyArray<unknown>]> = []
  const shards = Array.from({ length: 300 }, (_, i) => ShardId.make("default", i + 1))
  await runtime.runPromise(Effect.gen(function*() {
    const storage = yield* MessageStorage.MessageStorage
    yield* storage.unprocessedMessages(shards).pipe(
      Statement.withTransformer((statement) => {
        seen.push(statement.compile() as readonly [string, ReadonlyArray<unknown>])
        return Effect.succeed(statement)
      })
    )
  }))
  return seen
}

beforeAll(async () => {
  db = await createTestDatabase("storage_poll_plan")
  runtime = ManagedRuntime.make(
    BatchedMessageStorage.layer.pipe(Layer.provide(ShardingConfig.layer()), Layer.provide(databaseAt(db.url)))
  )
  admin = new SQL(db.url)
}, 120_000)

afterAll(async () => {
  await runtime?.dispose()
  await admin?.close()
  await db?.drop()
})

describe("the cluster's storage poll", () => {
  test("100,000 processed messages, no statistics: read by the unprocessed-messages index, the waiting one found", async () => {
    const statements = await pollStatements()
    const polls = statements.filter(([text]) => /processed = /.test(text) && /FOR UPDATE/.test(text))
    expect(polls).toHaveLength(1)
    const [text, params] = polls[0]!
    await rolledBack(admin, async (reserved) => {
      await reserved.unsafe(`
        INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
          SELECT g, 'done-' || g, 'default:' || (1 + g % 300), 'Agent', 'a' || (g % 50), 0, 'Execute', '{}', '{}', g, TRUE
          FROM generate_series(1, 100000) AS g;
        INSERT INTO cluster_replies (id, kind, request_id, payload)
          SELECT 50000000 + g, 0, g, '{}' FROM generate_series(1, 100000) AS g;
        INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
          VALUES (200001, 'waiting', 'default:7', 'Agent', 'a7', 0, 'Execute', '{}', '{}', 200001, FALSE)`)
      const [{ "QUERY PLAN": plan }] = await reserved.unsafe(`EXPLAIN (FORMAT JSON) ${text}`, [...params])
      const nodes = planNodes(plan)
      // Messages: the poll's candidates by the partial index, the UPDATE by primary key; replies by their indexes.
      expect(nodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"])).toEqual([])
      expect(nodes.map((n) => n["Index Name"])).toContain("cluster_messages_unprocessed_idx")
      const found = await reserved.unsafe(text, [...params])
      expect(found.map((m: { message_id: string }) => m.message_id)).toEqual(["waiting"])
    })
  }, 120_000)
})
