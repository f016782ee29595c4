import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import Pg from "pg"
import { pgClientLayer } from "../../src/db/Database.ts"
import { preparingClient } from "../../src/db/PreparedStatements.ts"
import { createTestDatabase } from "../support/postgres.ts"

let db: Awaited<ReturnType<typeof createTestDatabase>>
beforeAll(async () => {
  db = await createTestDatabase("prepared")
}, 30_000)
afterAll(() => db.drop())

const prepared = (pool: Pg.Pool) =>
  pool.query<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements ORDER BY name").then((r) => r.rows)

describe("prepared statements on a real PostgreSQL", () => {
  test("the platform's client prepares a parameterised statement once per connection and reuses it; parameterless scripts stay unprepared", async () => {
    const rows = await Effect.runPromise(
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const answers: Array<number> = []
        for (let i = 0; i < 8; i++) {
          const [row] = yield* sql<{ n: number }>`SELECT ${i}::int + 1 AS n`
          answers.push(row.n)
        }
        // Several statements in one text: only the simple protocol takes them.
        yield* sql.unsafe("CREATE TABLE IF NOT EXISTS scratch (id int); INSERT INTO scratch VALUES (1)")
        const statements = yield* sql<{ name: string; statement: string }>`
          SELECT name, statement FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`
        return { answers, statements }
      }).pipe(Effect.provide(pgClientLayer(db.url, 1)))
    )
    expect(rows.answers).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    // One prepared statement for the eight calls (pool of one connection, so the same session).
    expect(rows.statements).toHaveLength(1)
    expect(rows.statements[0].statement).toContain("SELECT $1::int + 1")
  })

  test("only the first maxStatements distinct texts get a name, and none with more than maxParameters; the rest still run, unnamed", async () => {
    const pool = new Pg.Pool({ connectionString: db.url, max: 1, Client: preparingClient({ maxStatements: 2, maxParameters: 3 }) })
    try {
      // A batch-sized statement: more parameters than the bound.
      const wide = await pool.query("SELECT $1::int + $2::int + $3::int + $4::int AS n", [1, 2, 3, 4])
      expect(wide.rows[0].n).toBe(10)
      for (let i = 0; i < 5; i++) {
        const r = await pool.query(`SELECT $1::int * ${i + 1} AS n`, [2])
        expect(r.rows[0].n).toBe(2 * (i + 1))
      }
      const names = await prepared(pool)
      expect(names.map((p) => p.statement)).toEqual(["SELECT $1::int * 1 AS n", "SELECT $1::int * 2 AS n"])
    } finally {
      await pool.end()
    }
  })

  test("a statement whose result columns changed under it fails once, then runs unnamed on that connection", async () => {
    const pool = new Pg.Pool({ connectionString: db.url, max: 1, Client: preparingClient({ maxStatements: 10, maxParameters: 10 }) })
    try {
      await pool.query("CREATE TABLE reshaped (id int, label text)")
      await pool.query("INSERT INTO reshaped VALUES (1, 'a')")
      const select = "SELECT * FROM reshaped WHERE id = $1"
      expect((await pool.query(select, [1])).rows).toEqual([{ id: 1, label: "a" }])
      // What a newer node's migration may do while this one runs.
      await pool.query("ALTER TABLE reshaped ADD COLUMN extra int DEFAULT 7")
      const stale = await pool.query(select, [1]).then(() => undefined, (e: { code?: string }) => e.code)
      expect(stale).toBe("0A000")
      expect((await pool.query(select, [1])).rows).toEqual([{ id: 1, label: "a", extra: 7 }])
      expect((await pool.query(select, [1])).rows).toEqual([{ id: 1, label: "a", extra: 7 }])
    } finally {
      await pool.end()
    }
  })
})
