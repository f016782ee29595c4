import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, test } from "bun:test"
import { Effect, Fiber, Layer, ManagedRuntime } from "effect"
import { settingsWith } from "../../src/app/Settings.ts"
import { PgLive } from "../../src/db/Database.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Issue #21: a fiber interrupted inside a transaction on the embedded database
 * (an aborted SSE stream, a caller hanging up) froze every connection for 5 s:
 * @effect/sql-pg's cancel query needed another pool connection, which waited
 * behind the interrupted transaction that owned the one PGlite session.
 */
const tmp = makeTempDir("embedded-interrupt")
let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown> | undefined
afterAll(async () => {
  await runtime?.dispose()
  tmp.remove()
})

describe("embedded database: interrupted statements", () => {
  test("interrupting a transaction mid-statement neither stalls other connections nor cancels their statements", async () => {
    await seedDataDir(tmp.dir)
    runtime = ManagedRuntime.make(PgLive.pipe(Layer.provide(settingsWith({ dataDir: tmp.dir, dbPoolSize: 3 }))))
    const result = await runtime.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE IF NOT EXISTS interrupt_probe (id int PRIMARY KEY)`
      const timings: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const tx = yield* Effect.fork(sql.withTransaction(Effect.gen(function*() {
          yield* sql`INSERT INTO interrupt_probe VALUES (${i})`
          yield* sql`SELECT pg_sleep(0.2)`
        })))
        // Others queue behind the transaction meanwhile (the same session).
        const other = yield* Effect.fork(sql<{ n: number }>`SELECT ${i}::int AS n`)
        yield* Effect.sleep("50 millis")
        const started = Date.now()
        yield* Fiber.interrupt(tx)
        const [row] = yield* Fiber.join(other)
        expect(row?.n).toBe(i)
        yield* sql`SELECT 1`
        timings.push(Date.now() - started)
      }
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM interrupt_probe`
      return { timings, committed: rows[0]?.n }
    }))
    // Each interruption costs the rest of its statement (0.2 s), not sql-pg's 5 s cancel timeout.
    for (const ms of result.timings) expect(ms).toBeLessThan(2_000)
    // Interrupted transactions were rolled back.
    expect(result.committed).toBe(0)
  }, 60_000)
})
