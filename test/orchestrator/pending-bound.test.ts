import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Exit, Layer, ManagedRuntime } from "effect"
import { DeliveryRepo } from "../../src/orchestrator/DeliveryRepo.ts"
import { PendingBound } from "../../src/orchestrator/PendingBound.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { databaseAt } from "../support/singleNode.ts"

/**
 * PendingBound's counting over the real database: each "node" (an instance of the service)
 * counts what it created since its last count and reads the project's pending deliveries
 * (every node's) only when that reaches the bound.
 */
const MAX = 5
let db: Awaited<ReturnType<typeof createTestDatabase>>
let database: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof databaseAt>>, unknown>

const settings = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["ORCHESTRATOR_MAX_PENDING_PER_PROJECT", String(MAX)]])))
const node = () => ManagedRuntime.make(Layer.mergeAll(PendingBound.Default, DeliveryRepo.Default).pipe(
  Layer.provide(settings),
  Layer.provide(Layer.succeedContext(Effect.runSync(database.runtimeEffect).context))
))

beforeAll(async () => {
  db = await createTestDatabase("pending_bound")
  database = ManagedRuntime.make(databaseAt(db.url))
  await database.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`INSERT INTO users (id, email, password_hash) VALUES ('u', 'u@example.com', 'x')`,
      sql`INSERT INTO projects (id, name, owner_id) VALUES ('p1', 'p1', 'u'), ('p2', 'p2', 'u')`
    ])))
}, 60_000)

afterAll(async () => {
  await database?.dispose()
  await db?.drop()
})

let n = 0
/** A node's router: checks the bound, stores a delivery, counts it. */
const send = (runtime: ReturnType<typeof node>, projectId: string) =>
  runtime.runPromiseExit(Effect.gen(function*() {
    const bound = yield* PendingBound
    const repo = yield* DeliveryRepo
    yield* bound.check(projectId)
    const id = `d${++n}`
    yield* repo.create({ id, projectId, idempotencyKey: id, from: null, to: "agent", request: { text: "hi", metadata: {} }, maxAttempts: 1 })
    yield* bound.started(projectId)
    return id
  }))

const finish = (ids: ReadonlyArray<string>) =>
  database.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE orchestrator_deliveries SET status = 'delivered' WHERE ${sql.in("id", ids)}`))

const accepted = async (runtime: ReturnType<typeof node>, projectId: string, count: number) => {
  const ids: Array<string> = []
  for (let i = 0; i < count; i++) {
    const exit = await send(runtime, projectId)
    if (Exit.isFailure(exit)) break
    ids.push(exit.value)
  }
  return ids
}

describe("PendingBound", () => {
  test("refuses past the bound, counts every node's pending deliveries, and admits again as they finish", async () => {
    const a = node()
    const b = node()
    try {
      const ids = await accepted(a, "p1", MAX + 3)
      expect(ids.length).toBe(MAX)
      const refused = await send(a, "p1")
      expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("TooManyRequests")
      // Another project is not affected.
      expect((await accepted(a, "p2", 2)).length).toBe(2)

      // Node b creates 2 for p1 (it has not counted yet); then 3 of a's finish.
      const fromB = await accepted(b, "p1", 2)
      expect(fromB.length).toBe(2)
      await finish(ids.slice(0, 3))
      // Within a second of its count, a does not count again.
      expect(Exit.isFailure(await send(a, "p1"))).toBe(true)
      await Bun.sleep(1_100)
      // a counts again: 2 of its own + 2 of b's pending, so one more fits, not three.
      expect((await accepted(a, "p1", 3)).length).toBe(1)

      // Everything finishes: after a second, the bound's room is back.
      await finish([...ids, ...fromB, `d${n}`])
      await Bun.sleep(1_100)
      expect((await accepted(a, "p1", MAX + 1)).length).toBe(MAX)
    } finally {
      await a.dispose()
      await b.dispose()
    }
  }, 30_000)
})
