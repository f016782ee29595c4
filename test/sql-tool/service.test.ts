import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { PgClient } from "@effect/sql-pg"
import { Effect, Logger, LogLevel, Redacted } from "effect"
import type { ConnectionInfo } from "../../src/domain/SqlTool.ts"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { SqlQueryTool } from "../../src/sql-tool/SqlQueryTool.ts"
import { SqlToolService } from "../../src/sql-tool/SqlToolService.ts"
import { type SqlToolHarness, startSqlTool } from "./harness.ts"
import { createMysqlTarget, createPostgresTarget, createSqliteTarget, EVENTS_ROWS, type Target } from "./targets.ts"

let h: SqlToolHarness
const targets: Record<string, Target> = {}
const conns: Record<string, ConnectionInfo> = {}
const dialects = ["postgres", "mysql", "sqlite"] as const
const PG_PASSWORD_MARKER = "s3cr3t-marker"

const svc = <A, E, R>(f: (s: SqlToolService) => Effect.Effect<A, E, R>) => Effect.flatMap(SqlToolService, f)

beforeAll(async () => {
  h = await startSqlTool()
  const made = await Promise.all([createPostgresTarget(), createMysqlTarget(), createSqliteTarget()])
  for (const t of made) {
    targets[t.dialect] = t
    // Trust auth ignores the password: it is here so the tests can look for it at rest and in logs.
    const url = t.dialect === "postgres" ? t.url.replace("postgres@", `postgres:${PG_PASSWORD_MARKER}@`) : t.url
    conns[t.dialect] = await h.run(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: `svc-${t.dialect}`, connectionString: Redacted.make(url), writable: false, verify: true })
    )))
  }
}, 60_000)

afterAll(async () => {
  await h?.stop()
  await Promise.all(Object.values(targets).map((t) => t.drop()))
}, 60_000)

const read = (dialect: string, sql: string, extra: { params?: ReadonlyArray<string | number | null>; maxRows?: number; timeoutMs?: number } = {}) =>
  h.attempt(h.as("developer")(svc((s) =>
    s.execute(conns[dialect].id, { sql, params: extra.params ?? [], mode: "read", maxRows: extra.maxRows, timeoutMs: extra.timeoutMs })
  )))

describe("connection secrets", () => {
  test("the stored row holds ciphertext, not the connection string", async () => {
    const rows = await h.run(Effect.flatMap(PgClient.PgClient, (sql) =>
      sql<{ secret: string; target: string }>`SELECT secret, target FROM sql_connections WHERE id = ${conns.postgres.id}`
    ))
    expect(rows[0].secret).toStartWith("v2.")
    expect(rows[0].secret).not.toContain(PG_PASSWORD_MARKER)
    expect(rows[0].secret).not.toContain("127.0.0.1")
    expect(rows[0].target).not.toContain(PG_PASSWORD_MARKER)
    expect(rows[0].target).not.toContain("postgres@")
  })

  test("a sealed secret copied onto another connection row cannot be opened", async () => {
    const other = await h.run(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: "copy-target", connectionString: Redacted.make(targets.sqlite.url), writable: false, verify: false })
    )))
    await h.run(Effect.flatMap(PgClient.PgClient, (sql) =>
      sql`UPDATE sql_connections SET secret = (SELECT secret FROM sql_connections WHERE id = ${conns.postgres.id}) WHERE id = ${other.id}`
    ))
    const result = await h.attempt(h.as("developer")(svc((s) => s.execute(other.id, { sql: "SELECT 1 AS one", params: [], mode: "read" }))))
    expect(result._tag === "Left" && result.left._tag).toBe("ServiceUnavailable")
  })

  test("listing never returns the connection string, and nothing logged contains it", async () => {
    const lines: Array<string> = []
    const capture = Logger.make(({ message, annotations }) => {
      lines.push(JSON.stringify({ message, annotations: [...annotations] }))
    })
    const listed = await h.run(h.as("viewer")(svc((s) =>
      Effect.zipRight(
        s.create({
          projectId: h.projectId,
          name: "logged",
          connectionString: Redacted.make(targets.postgres.url.replace("postgres@", `postgres:${PG_PASSWORD_MARKER}@`)),
          writable: false,
          verify: true
        }).pipe(h.as("admin")),
        s.list(h.projectId)
      )
    ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)), Logger.withMinimumLogLevel(LogLevel.All))))
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.join("\n")).not.toContain(PG_PASSWORD_MARKER)
    const body = JSON.stringify(listed)
    expect(body).not.toContain(PG_PASSWORD_MARKER)
    expect(body).not.toContain("connectionString")
    expect(listed.map((c) => c.name)).toContain("logged")
  })
})

describe("access control", () => {
  test("viewers may read the schema but not run queries", async () => {
    const schema = await h.attempt(h.as("viewer")(svc((s) => s.schema(conns.postgres.id, false))))
    expect(schema._tag).toBe("Right")
    const run = await h.attempt(h.as("viewer")(svc((s) => s.execute(conns.postgres.id, { sql: "SELECT 1 AS one", params: [], mode: "read" }))))
    expect(run._tag === "Left" && run.left._tag).toBe("Forbidden")
  })

  test("members of another project get not-found, not forbidden", async () => {
    const run = await h.attempt(h.as("admin", h.otherProjectId)(svc((s) =>
      s.execute(conns.postgres.id, { sql: "SELECT 1 AS one", params: [], mode: "read" })
    )))
    expect(run._tag === "Left" && run.left._tag).toBe("NotFound")
  })

  test("write mode needs an admin and a writable connection", async () => {
    const asDeveloper = await h.attempt(h.as("developer")(svc((s) =>
      s.execute(conns.postgres.id, { sql: "DELETE FROM victims", params: [], mode: "write" })
    )))
    expect(asDeveloper._tag === "Left" && asDeveloper.left._tag).toBe("Forbidden")
    const notWritable = await h.attempt(h.as("admin")(svc((s) =>
      s.execute(conns.postgres.id, { sql: "DELETE FROM victims", params: [], mode: "write" })
    )))
    expect(notWritable._tag === "Left" && notWritable.left._tag).toBe("Forbidden")
    expect(await targets.postgres.exec("SELECT count(*)::int AS n FROM victims")).toEqual([{ n: 3 }])
  })

  test.each(dialects)("an admin writes through a writable %s connection; read mode still refuses", async (dialect) => {
    await targets[dialect].exec("CREATE TABLE scratch (id INT PRIMARY KEY, v VARCHAR(100))")
    const writable = await h.run(h.as("admin", h.projectId, true)(svc((s) =>
      s.create({ projectId: h.projectId, name: `rw-${dialect}`, connectionString: Redacted.make(targets[dialect].url), writable: true, verify: true })
    )))
    const placeholder = dialect === "postgres" ? ["$1", "$2"] : ["?", "?"]
    const wrote = await h.run(h.as("admin")(svc((s) =>
      s.execute(writable.id, { sql: `INSERT INTO scratch (id, v) VALUES (${placeholder[0]}, ${placeholder[1]})`, params: [1, "x'); DROP TABLE victims; --"], mode: "write" })
    )))
    expect(wrote.mode).toBe("write")
    expect(wrote.rowCount).toBe(1)
    // The injection-shaped value is data: it was stored verbatim and victims still exists.
    const back = await read(dialect, "SELECT v FROM scratch")
    expect(back._tag === "Right" && back.right.rows[0].v).toBe("x'); DROP TABLE victims; --")
    const refused = await h.attempt(h.as("admin")(svc((s) => s.execute(writable.id, { sql: "DELETE FROM scratch", params: [], mode: "read" }))))
    expect(refused._tag === "Left" && refused.left._tag).toBe("QueryRejected")
    const stacked = await h.attempt(h.as("admin")(svc((s) =>
      s.execute(writable.id, { sql: "DELETE FROM scratch; DROP TABLE victims", params: [], mode: "write" })
    )))
    expect(stacked._tag === "Left" && stacked.left._tag).toBe("QueryRejected")
    await targets[dialect].exec("DROP TABLE scratch")
  })
})

describe("execution limits", () => {
  test.each(dialects)("parameters are bound on %s", async (dialect) => {
    const p = dialect === "postgres" ? "$1" : "?"
    const hit = await read(dialect, `SELECT name FROM victims WHERE name = ${p}`, { params: ["bob"] })
    expect(hit._tag === "Right" && hit.right.rows).toEqual([{ name: "bob" }])
    const injected = await read(dialect, `SELECT name FROM victims WHERE name = ${p}`, { params: ["' OR '1'='1"] })
    expect(injected._tag === "Right" && injected.right.rowCount).toBe(0)
  })

  test.each(dialects)("rows are capped and the cut is reported on %s", async (dialect) => {
    const capped = await read(dialect, "SELECT id FROM events ORDER BY id", { maxRows: 7 })
    if (capped._tag === "Left") throw new Error(capped.left._tag)
    expect(capped.right.rowCount).toBe(7)
    expect(capped.right.truncated).toBe(true)
    expect(capped.right.columns).toEqual(["id"])
    const whole = await read(dialect, "SELECT id FROM victims", { maxRows: 7 })
    expect(whole._tag === "Right" && whole.right.truncated).toBe(false)
  })

  test("a statement past its timeout is cancelled by PostgreSQL", async () => {
    const slow = await read("postgres", "SELECT count(*) FROM generate_series(1, 200000000)", { timeoutMs: 300 })
    expect(slow._tag === "Left" && slow.left._tag).toBe("GatewayTimeout")
    // The pool connection is usable afterwards (the transaction was rolled back).
    expect((await read("postgres", "SELECT 1 AS one"))._tag).toBe("Right")
  })

  test("a statement past its timeout is cancelled by MariaDB", async () => {
    const slow = await read("mysql", "SELECT count(*) AS n FROM events a, events b, events c", { timeoutMs: 300 })
    expect(slow._tag === "Left" && slow.left._tag).toBe("GatewayTimeout")
    expect((await read("mysql", "SELECT 1 AS one"))._tag).toBe("Right")
  })

  test("a runaway SQLite query is stopped at its timeout without blocking the process", async () => {
    const started = Date.now()
    let ticks = 0
    const timer = setInterval(() => ticks++, 20)
    const endless = await read("sqlite", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c", { timeoutMs: 400 })
    clearInterval(timer)
    expect(endless._tag === "Left" && endless.left._tag).toBe("GatewayTimeout")
    expect(Date.now() - started).toBeLessThan(10_000)
    // The event loop kept running while SQLite spun in its worker.
    expect(ticks).toBeGreaterThan(3)
    const after = await read("sqlite", "SELECT count(*) AS n FROM victims")
    expect(after._tag === "Right" && Number(after.right.rows[0].n)).toBe(3)
  })

  test("database errors come back as QueryFailed with the engine's message", async () => {
    const missing = await read("postgres", "SELECT * FROM no_such_table")
    expect(missing._tag === "Left" && missing.left._tag).toBe("QueryFailed")
    expect(missing._tag === "Left" && "message" in missing.left && missing.left.message).toContain("no_such_table")
  })
})

describe("schema introspection", () => {
  test.each(dialects)("tables, columns, keys and indexes of %s", async (dialect) => {
    const schema = await h.run(h.as("viewer")(svc((s) => s.schema(conns[dialect].id, true))))
    const orders = schema.tables.find((t) => t.name === "orders")
    expect(orders?.primaryKey).toEqual(["id"])
    expect(orders?.columns.map((c) => c.name)).toEqual(["id", "victim_id", "amount"])
    expect(orders?.columns.find((c) => c.name === "amount")?.nullable).toBe(false)
    expect(orders?.foreignKeys).toEqual([expect.objectContaining({ columns: ["victim_id"], referencedColumns: ["id"] })])
    expect(orders?.indexes.map((i) => i.name)).toContain("orders_victim_idx")
    expect(schema.tables.find((t) => t.name === "victims")?.columns.find((c) => c.name === "id")?.primaryKey).toBe(true)
  })

  test("the schema is cached until refreshed", async () => {
    const first = await h.run(h.as("viewer")(svc((s) => s.schema(conns.postgres.id, true))))
    await targets.postgres.exec("CREATE TABLE added_later (id INT)")
    const cached = await h.run(h.as("viewer")(svc((s) => s.schema(conns.postgres.id, false))))
    expect(cached.cachedAt).toBe(first.cachedAt)
    expect(cached.tables.some((t) => t.name === "added_later")).toBe(false)
    const fresh = await h.run(h.as("viewer")(svc((s) => s.schema(conns.postgres.id, true))))
    expect(fresh.tables.some((t) => t.name === "added_later")).toBe(true)
    await targets.postgres.exec("DROP TABLE added_later")
  })
})

describe("explain", () => {
  test.each(dialects)("a filter on an unindexed column of a large %s table gets seq-scan and missing-index hints", async (dialect) => {
    const p = dialect === "postgres" ? "$1" : "?"
    const plan = await h.run(h.as("developer")(svc((s) =>
      s.explain(conns[dialect].id, { sql: `SELECT id FROM events WHERE n = ${p}`, params: [5], analyze: false })
    )))
    expect(plan.analyzed).toBe(false)
    const kinds = plan.hints.map((x) => x.kind)
    expect(kinds).toContain("seq_scan_large_table")
    expect(kinds).toContain("missing_index")
    expect(plan.hints.find((x) => x.kind === "seq_scan_large_table")?.message).toContain("events")
  })

  test.each(dialects)("an indexed lookup on %s gets no scan hints", async (dialect) => {
    const plan = await h.run(h.as("developer")(svc((s) =>
      s.explain(conns[dialect].id, { sql: "SELECT id FROM events WHERE id = 42", params: [], analyze: false })
    )))
    expect(plan.hints.filter((x) => x.kind === "seq_scan_large_table" || x.kind === "missing_index")).toEqual([])
  })

  test("EXPLAIN of a write is refused in read mode; ANALYZE needs an admin on a writable connection", async () => {
    const write = await h.attempt(h.as("admin")(svc((s) =>
      s.explain(conns.postgres.id, { sql: "DELETE FROM victims", params: [], analyze: false })
    )))
    expect(write._tag === "Left" && write.left._tag).toBe("QueryRejected")
    const analyze = await h.attempt(h.as("admin")(svc((s) =>
      s.explain(conns.postgres.id, { sql: "SELECT 1", params: [], analyze: true })
    )))
    expect(analyze._tag === "Left" && analyze.left._tag).toBe("Forbidden")
  })

  test("EXPLAIN ANALYZE runs read-only: a query is analyzed, a write is refused and changes nothing", async () => {
    const rw = await h.run(h.as("admin", h.projectId, true)(svc((s) =>
      s.create({ projectId: h.projectId, name: "analyze-pg", connectionString: Redacted.make(targets.postgres.url), writable: true, verify: true })
    )))
    const plan = await h.run(h.as("admin")(svc((s) => s.explain(rw.id, { sql: "SELECT count(*) FROM events WHERE n > 0", params: [], analyze: true }))))
    expect(plan.analyzed).toBe(true)
    expect(JSON.stringify(plan.plan)).toContain("Actual Rows")
    const write = await h.attempt(h.as("admin")(svc((s) => s.explain(rw.id, { sql: "DELETE FROM events WHERE n > 0", params: [], analyze: true }))))
    expect(write._tag === "Left" && write.left._tag).toBe("QueryRejected")
    expect(await targets.postgres.exec("SELECT count(*)::int AS n FROM events")).toEqual([{ n: EVENTS_ROWS }])
  })
})

describe("pools and unreachable servers", () => {
  test("an unreachable SQL Server fails clearly at verification, and at use when saved unverified", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    const port = server.port
    server.stop(true)
    const url = `mssql://sa:${PG_PASSWORD_MARKER}@127.0.0.1:${port}/master`
    const verified = await h.attempt(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: "mssql-verified", connectionString: Redacted.make(url), writable: false, verify: true })
    )))
    expect(verified._tag === "Left" && verified.left._tag).toBe("ServiceUnavailable")
    // The egress policy's one text: a closed port reads like a refused destination.
    expect(verified._tag === "Left" && "message" in verified.left && verified.left.message).toContain("destination not allowed or unreachable")
    expect(JSON.stringify(verified)).not.toContain(PG_PASSWORD_MARKER)
    const saved = await h.run(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: "mssql-unverified", connectionString: Redacted.make(url), writable: false, verify: false })
    )))
    expect(saved.dialect).toBe("mssql")
    expect(saved.target).toBe(`127.0.0.1:${port}/master`)
    const used = await h.attempt(h.as("developer")(svc((s) => s.execute(saved.id, { sql: "SELECT 1 AS one", params: [], mode: "read" }))))
    expect(used._tag === "Left" && used.left._tag).toBe("ServiceUnavailable")
  })

  test("bad connection strings are refused without echoing them", async () => {
    const bad = await h.attempt(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: "bad", connectionString: Redacted.make(`oracle://u:${PG_PASSWORD_MARKER}@h/db`), writable: false, verify: false })
    )))
    expect(bad._tag === "Left" && bad.left._tag).toBe("BadRequest")
    expect(JSON.stringify(bad)).not.toContain(PG_PASSWORD_MARKER)
  })

  test("deleting a connection closes its pool and forgets it", async () => {
    const temp = await h.run(h.as("admin")(svc((s) =>
      s.create({ projectId: h.projectId, name: "temp", connectionString: Redacted.make(targets.mysql.url), writable: false, verify: true })
    )))
    const before = await h.run(Effect.flatMap(ConnectionPools, (p) => p.openCount))
    await h.run(h.as("admin")(svc((s) => s.remove(temp.id))))
    const after = await h.run(Effect.flatMap(ConnectionPools, (p) => p.openCount))
    expect(after).toBe(before - 1)
    const gone = await h.attempt(h.as("admin")(svc((s) => s.execute(temp.id, { sql: "SELECT 1", params: [], mode: "read" }))))
    expect(gone._tag === "Left" && gone.left._tag).toBe("NotFound")
  })
})

describe("sql_query tool", () => {
  test("runs read-only queries on the project's connection by name", async () => {
    const result = await h.run(Effect.flatMap(SqlQueryTool, (tool) =>
      tool.query(h.projectId, { connection: "svc-sqlite", sql: "SELECT name FROM victims WHERE id = ?", params: [2] })
    ))
    expect(result.rows).toEqual([{ name: "bob" }])
    const tool = await h.run(Effect.map(SqlQueryTool, (t) => t.spec))
    expect(tool.name).toBe("sql_query")
    expect(tool.inputSchema).toMatchObject({ type: "object", required: expect.arrayContaining(["connection", "sql"]) })
  })

  test("refuses writes and other projects' connections", async () => {
    const write = await h.attempt(Effect.flatMap(SqlQueryTool, (tool) =>
      tool.query(h.projectId, { connection: conns.postgres.id, sql: "WITH d AS (DELETE FROM victims RETURNING 1) SELECT * FROM d" })
    ))
    expect(write._tag === "Left" && write.left._tag).toBe("QueryRejected")
    const foreign = await h.attempt(Effect.flatMap(SqlQueryTool, (tool) =>
      tool.query(h.otherProjectId, { connection: conns.postgres.id, sql: "SELECT 1" })
    ))
    expect(foreign._tag === "Left" && foreign.left._tag).toBe("NotFound")
  })
})
