import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { makeLeadership } from "../../src/observability/AlertEvaluator.ts"
import { createTestDatabase } from "../support/postgres.ts"

let db: Awaited<ReturnType<typeof createTestDatabase>>
beforeAll(async () => {
  db = await createTestDatabase("obslead")
}, 30_000)
afterAll(() => db?.drop())

/** One "node": its own pool on the shared (real) Postgres, and its evaluator leadership. */
const node = () => {
  const layer = Layer.mergeAll(
    PgClient.layer({ url: Redacted.make(db.url), maxConnections: 2 }),
    AppConfig.layerWith({ databaseUrl: Option.some(Redacted.make(db.url)) })
  )
  return ManagedRuntime.make(Layer.orDie(layer))
}

describe("alert evaluator leadership on a shared Postgres", () => {
  test("one node evaluates; another takes over when its session ends", async () => {
    const a = node()
    const b = node()
    try {
      // The leadership check lives as long as the node (scope closed by dispose).
      const checkA = await a.runPromise(Effect.scoped(Effect.gen(function*() {
        const isLeader = yield* makeLeadership
        return [yield* isLeader, yield* isLeader]
      })))
      expect(checkA).toEqual([true, true])
      // A's scope closed above: its lock went with its reserved connection.
      // Deferreds order the two nodes: B checks while A holds the lock, then A lets go.
      const aLeads = Effect.runSync(Deferred.make<void>())
      const bChecked = Effect.runSync(Deferred.make<void>())
      const results = await Promise.all([
        a.runPromise(Effect.scoped(Effect.gen(function*() {
          const isLeader = yield* makeLeadership
          const first = yield* isLeader
          yield* Deferred.succeed(aLeads, undefined)
          yield* Deferred.await(bChecked)
          return first
        }))),
        b.runPromise(Effect.scoped(Effect.gen(function*() {
          yield* Deferred.await(aLeads)
          const isLeader = yield* makeLeadership
          const leads = yield* isLeader
          yield* Deferred.succeed(bChecked, undefined)
          return leads
        })))
      ])
      expect(results).toEqual([true, false])
      const bAfter = await b.runPromise(Effect.scoped(Effect.flatMap(makeLeadership, (isLeader) => isLeader)))
      expect(bAfter).toBe(true)
    } finally {
      await a.dispose()
      await b.dispose()
    }
  }, 30_000)
})
