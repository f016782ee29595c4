import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import type { ConnectionInfo } from "../../src/domain/SqlTool.ts"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { SqlToolService } from "../../src/sql-tool/SqlToolService.ts"
import corpus from "../fixtures/sql/readonly-corpus.json"
import legit from "../fixtures/sql/readonly-legit.json"
import { type SqlToolHarness, startSqlTool } from "./harness.ts"
import { createMysqlTarget, createPostgresTarget, createSqliteTarget, type Target } from "./targets.ts"

/**
 * Every attempt in test/fixtures/sql/readonly-corpus.json, in read mode, on
 * the real PostgreSQL 15, MariaDB and SQLite: the guard must refuse it, and
 * the target tables (rows, table list, sequence) must be exactly as seeded.
 */
let h: SqlToolHarness
const targets: Record<string, Target> = {}
const connections: Record<string, ConnectionInfo> = {}
const seeded: Record<string, string> = {}
const dialects = ["postgres", "mysql", "sqlite"] as const

beforeAll(async () => {
  h = await startSqlTool()
  const made = await Promise.all([createPostgresTarget(), createMysqlTarget(), createSqliteTarget()])
  for (const t of made) {
    targets[t.dialect] = t
    seeded[t.dialect] = await t.snapshot()
    // Writable on purpose: read mode must hold even where writes are allowed.
    connections[t.dialect] = await h.run(h.as("admin", h.projectId, true)(Effect.flatMap(SqlToolService, (s) =>
      s.create({ projectId: h.projectId, name: `corpus-${t.dialect}`, connectionString: Redacted.make(t.url), writable: true, verify: true })
    )))
  }
  for (const file of corpus.mustNotExist) fs.rmSync(file, { force: true })
}, 60_000)

afterAll(async () => {
  await h?.stop()
  await Promise.all(Object.values(targets).map((t) => t.drop()))
}, 60_000)

const readOnly = (dialect: string, sql: string) =>
  h.attempt(h.as("admin")(Effect.flatMap(SqlToolService, (s) =>
    s.execute(connections[dialect].id, { sql, params: [], mode: "read" })
  )))

describe.each(dialects)("read-only corpus on %s", (dialect) => {
  test.each(corpus.attempts.map((a) => [a.id, a.category, a.sql] as const))(
    "#%d %s is refused by the guard and changes nothing",
    async (_id, _category, sql) => {
      const result = await readOnly(dialect, sql)
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") expect(result.left._tag).toBe("QueryRejected")
      expect(await targets[dialect].snapshot()).toBe(seeded[dialect])
    }
  )

  test("no attempt left a file behind", () => {
    for (const file of corpus.mustNotExist) expect(fs.existsSync(file)).toBe(false)
  })

  test("the database refuses plain writes in read mode even when the guard is bypassed", async () => {
    const bypass = corpus.attempts.filter((a) => "dbLayer" in a && a.dbLayer)
    expect(bypass.length).toBeGreaterThanOrEqual(5)
    for (const attempt of bypass) {
      const result = await h.attempt(Effect.flatMap(ConnectionPools, (pools) =>
        pools.withDriver(connections[dialect].id, Effect.dieMessage("pool must already be open"), (driver) =>
          driver.read({ text: attempt.sql, isSelect: false }, [], { maxRows: 10, timeoutMs: 5_000, maxResultBytes: 1_000_000, maxValueBytes: 1_000_000 }))
      ))
      expect(result._tag).toBe("Left")
      expect(await targets[dialect].snapshot()).toBe(seeded[dialect])
    }
  })

  test.each(legit.queries)("legitimate query passes: %s", async (sql) => {
    const result = await readOnly(dialect, sql)
    if (result._tag === "Left") throw new Error(`${result.left._tag}: ${JSON.stringify(result.left)}`)
    expect(result.right.rows.length).toBeGreaterThan(0)
    expect(result.right.mode).toBe("read")
  })
})

describe("legitimate queries agree across engines", () => {
  test("same row counts and values for the recursive CTE and window function", async () => {
    const counts: Record<string, Array<number>> = {}
    for (const dialect of dialects) {
      counts[dialect] = []
      for (const sql of legit.queries) {
        const r = await readOnly(dialect, sql)
        counts[dialect].push(r._tag === "Right" ? r.right.rowCount : -1)
      }
    }
    expect(counts.mysql).toEqual(counts.postgres)
    expect(counts.sqlite).toEqual(counts.postgres)
    const recursive = await readOnly("sqlite", legit.queries[9])
    expect(recursive._tag === "Right" && recursive.right.rows.map((r) => Number(r.x))).toEqual([1, 2, 3, 4, 5])
    for (const dialect of dialects) {
      const ranked = await readOnly(dialect, legit.queries[4])
      expect(ranked._tag === "Right" && Number(ranked.right.rows.find((r) => Number(r.rk) === 1)?.amount)).toBe(40)
    }
  })
})
