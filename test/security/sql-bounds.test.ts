import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { PgClient } from "@effect/sql-pg"
import { SQL } from "bun"
import { Effect, ManagedRuntime, Redacted } from "effect"
import pg from "pg"
import { EmbeddedPostgres } from "../../src/db/EmbeddedPostgres.ts"
import type { ConnectionInfo } from "../../src/domain/SqlTool.ts"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { SqlToolService } from "../../src/sql-tool/SqlToolService.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { type SqlToolHarness, startSqlTool } from "../sql-tool/harness.ts"
import { createMysqlTarget, createPostgresTarget, createSqliteTarget, MYSQL_ADMIN_URL, type Target } from "../sql-tool/targets.ts"
import { cpuShareOfTree, sqliteWorkers, withStallProbe } from "./processProbes.ts"

/**
 * Issue #17, SQL tool part: every input sent as an attacker would, against the
 * real PostgreSQL 15, MariaDB, SQLite and the embedded PGlite: time, memory
 * and output stay bounded, read-only holds without a function deny-list, and
 * the platform's own database is not a target.
 */
let h: SqlToolHarness
const targets: Record<string, Target> = {}
const conns: Record<string, ConnectionInfo> = {}
const MB = 1024 * 1024

beforeAll(async () => {
  // Idle query processes end after 1.5 s instead of 10 s: the test below waits for one to go.
  h = await startSqlTool({ sqliteWorkerIdleMs: 1_500 })
  const made = await Promise.all([createPostgresTarget(), createMysqlTarget(), createSqliteTarget()])
  for (const t of made) {
    targets[t.dialect] = t
    // Writable connections on purpose: read mode must hold even where writes are allowed.
    conns[t.dialect] = await h.run(h.as("admin", h.projectId, true)(Effect.flatMap(SqlToolService, (s) =>
      s.create({ projectId: h.projectId, name: `bounds-${t.dialect}`, connectionString: Redacted.make(t.url), writable: true, verify: true })
    )))
  }
  await targets.postgres.exec("CREATE EXTENSION IF NOT EXISTS dblink")
}, 60_000)

afterAll(async () => {
  await h?.stop()
  await Promise.all(Object.values(targets).map((t) => t.drop()))
}, 60_000)

const read = (dialect: string, sql: string, extra: { readonly timeoutMs?: number; readonly maxRows?: number } = {}) =>
  h.attempt(h.as("developer")(Effect.flatMap(SqlToolService, (s) =>
    s.execute(conns[dialect].id, { sql, params: [], mode: "read", timeoutMs: extra.timeoutMs, maxRows: extra.maxRows })
  )))

/** The statement as the driver runs it, past the guard: what the database alone makes of it. */
const unguarded = (dialect: string, sql: string) =>
  h.attempt(Effect.flatMap(ConnectionPools, (pools) =>
    pools.withDriver(conns[dialect].id, Effect.dieMessage("pool must already be open"), (driver) =>
      driver.read({ text: sql, isSelect: false }, [], { maxRows: 10, timeoutMs: 5_000, maxResultBytes: MB, maxValueBytes: MB }))
  ))

const tagOf = (r: { readonly _tag: "Left" | "Right"; readonly left?: unknown }) =>
  r._tag === "Left" ? (r.left as { readonly _tag: string })._tag : "Right"

const rss = () => process.memoryUsage().rss

describe("SQLite: a runaway statement is stopped, not left spinning", () => {
  test("an endless recursive CTE answers 504 within seconds and the CPU goes back to idle", async () => {
    const started = performance.now()
    const { result, maxStallMs } = await withStallProbe(() =>
      read("sqlite", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c", { timeoutMs: 500 })
    )
    expect(tagOf(result)).toBe("GatewayTimeout")
    expect(performance.now() - started).toBeLessThan(10_000)
    // The statement ran in another process: this event loop kept its pace (generous bound for a busy machine).
    expect(maxStallMs).toBeLessThan(1_000)
    // Before: the worker thread went on at ~100 % of a core until restart. On a loaded machine a
    // spinning process gets far less than a core, hence also the direct check that it is gone.
    // SIGKILL is sent at the timeout; the kernel takes a moment to end the process.
    for (let i = 0; i < 40 && sqliteWorkers().length > 0; i++) await Bun.sleep(50)
    expect(sqliteWorkers()).toEqual([])
    // This process and its children over a second: a thread left spinning would hold most of a core;
    // the rest of the suite running in this same process (timers, GC, other suites' leftovers) has
    // been seen at 0.27 of a core, so the bound sits between the two.
    const share = await cpuShareOfTree(1_000)
    expect(share).toBeLessThan(0.5)
    const after = await read("sqlite", "SELECT count(*) AS n FROM victims")
    expect(after._tag === "Right" && Number(after.right.rows[0].n)).toBe(3)
  }, 30_000)
})

describe("SQLite worker processes do not pile up", () => {
  test("an idle worker process ends on its own", async () => {
    expect((await read("sqlite", "SELECT 1 AS one"))._tag).toBe("Right")
    expect(sqliteWorkers().length).toBeGreaterThan(0)
    for (let i = 0; i < 50 && sqliteWorkers().length > 0; i++) await Bun.sleep(100)
    expect(sqliteWorkers()).toEqual([])
    expect((await read("sqlite", "SELECT 1 AS one"))._tag).toBe("Right")
  }, 30_000)
})

describe("SQLite writes are bounded the same way", () => {
  const write = (sql: string, timeoutMs: number) =>
    h.attempt(h.as("admin")(Effect.flatMap(SqlToolService, (s) =>
      s.execute(conns.sqlite.id, { sql, params: [], mode: "write", timeoutMs })
    )))

  test("an endless INSERT ... SELECT is killed at its timeout and rolled back; the file stays usable", async () => {
    const before = await targets.sqlite.snapshot()
    const { result, maxStallMs } = await withStallProbe(() =>
      write(
        "INSERT INTO orders (id, victim_id, amount) SELECT x + 1000, 1, 1 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)",
        500
      )
    )
    expect(tagOf(result)).toBe("GatewayTimeout")
    expect(maxStallMs).toBeLessThan(1_000)
    for (let i = 0; i < 40 && sqliteWorkers().length > 0; i++) await Bun.sleep(50)
    expect(sqliteWorkers()).toEqual([])
    // Killed mid-transaction: the platform's own read-only reads work at once (the runner rolls
    // the hot journal back with a writable open before the next statement), and see no row of it.
    const orders = await read("sqlite", "SELECT count(*) AS n FROM orders")
    expect(orders._tag === "Right" && Number(orders.right.rows[0].n)).toBe(4)
    expect(await targets.sqlite.snapshot()).toBe(before)
    const wrote = await write("UPDATE victims SET secret = secret WHERE id = 1", 5_000)
    expect(wrote._tag === "Right" && wrote.right.rowCount).toBe(1)
  }, 30_000)
})

describe("results are limited in bytes, not only rows", () => {
  test("SQLite zeroblob(200000000) is refused with a clear error and RSS stays bounded", async () => {
    const before = rss()
    const result = await read("sqlite", "SELECT zeroblob(200000000) AS b")
    const grown = (rss() - before) / MB
    expect(tagOf(result)).toBe("QueryFailed")
    expect(result._tag === "Left" && "message" in result.left && result.left.message).toMatch(/exceeds \d+ bytes/)
    expect(grown).toBeLessThan(300)
    expect((await read("sqlite", "SELECT 1 AS one"))._tag).toBe("Right")
  }, 60_000)

  test("PostgreSQL repeat('x', 200000000) is refused before it crosses the wire; RSS stays bounded", async () => {
    const before = rss()
    const result = await read("postgres", "SELECT repeat('x', 200000000) AS big", { timeoutMs: 60_000 })
    const grown = (rss() - before) / MB
    expect(tagOf(result)).toBe("QueryFailed")
    expect(result._tag === "Left" && "message" in result.left && result.left.message).toContain("result exceeds 5242880 bytes")
    expect(grown).toBeLessThan(300)
  }, 90_000)

  test("MariaDB rows of 16 MB each stop being read past the limit; RSS stays bounded", async () => {
    const before = rss()
    // Each row just under max_allowed_packet (16 MiB): 1,001 of them would be 16 GB.
    const result = await read("mysql", "SELECT id, repeat('x', 16000000) AS big FROM events", { maxRows: 1_000, timeoutMs: 30_000 })
    const grown = (rss() - before) / MB
    expect(tagOf(result)).toBe("QueryFailed")
    expect(result._tag === "Left" && "message" in result.left && result.left.message).toContain("result exceeds 5242880 bytes")
    expect(grown).toBeLessThan(300)
    // The server stops too: the statement does not go on producing rows for the rest of its 30 s
    // timeout, blocked writing to a socket nobody reads (mysql2's destroy() only half-closes).
    const observer = new SQL(MYSQL_ADMIN_URL)
    const running = () =>
      observer.unsafe("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT id, repeat(%'") as Promise<Array<unknown>>
    for (let i = 0; i < 30 && (await running()).length > 0; i++) await Bun.sleep(100)
    const left = await running()
    await observer.close()
    expect(left).toEqual([])
    // The pool dropped the connection it cut off and serves the next statement on a fresh one.
    const next = await read("mysql", "SELECT count(*) AS n FROM victims")
    expect(next._tag === "Right" && Number(next.right.rows[0].n)).toBe(3)
  }, 60_000)

  test.each(["postgres", "mysql", "sqlite"])("many mid-sized rows past the limit are refused on %s; a result under it passes", async (dialect) => {
    const wide = dialect === "sqlite" ? "SELECT id, hex(zeroblob(10000)) AS pad FROM events" : "SELECT id, repeat('x', 20000) AS pad FROM events"
    const refused = await read(dialect, wide, { maxRows: 1_000 })
    expect(tagOf(refused)).toBe("QueryFailed")
    expect(refused._tag === "Left" && "message" in refused.left && refused.left.message).toContain("result exceeds")
    const small = await read(dialect, wide, { maxRows: 10 })
    expect(small._tag === "Right" && small.right.rowCount).toBe(10)
    expect(small._tag === "Right" && small.right.columns).toEqual(["id", "pad"])
  }, 60_000)
})

describe("read-only on PostgreSQL does not depend on a deny-list", () => {
  const other = () => new SQL(targets.postgres.url)

  test("ts_rewrite running SQL given as text is refused, and no advisory lock is left in the pool", async () => {
    const attempt = await read(
      "postgres",
      "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, (''b'' || pg_advisory_lock(4242)::text)::tsquery')"
    )
    expect(tagOf(attempt)).toBe("QueryRejected")
    // Past the guard, the session lock would be taken; the pool's DISCARD ALL must release it.
    const bypass = await unguarded("postgres", "SELECT pg_advisory_lock(4243)::text AS locked")
    expect(bypass._tag).toBe("Right")
    const observer = other()
    const held = await observer.unsafe("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid IN (4242, 4243)")
    await observer.close()
    expect(held).toEqual([{ n: 0 }])
  })

  test("dblink_exec is refused (directly and through ts_rewrite): no row inserted", async () => {
    const name = new URL(targets.postgres.url).pathname.slice(1)
    const insert = `INSERT INTO victims (id, name, secret) VALUES (77, ''x'', ''y'')`
    for (const sql of [
      `SELECT dblink_exec('dbname=${name}', '${insert}')`,
      `SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, (''b'' || dblink_exec(''dbname=${name}'', ''${insert.replaceAll("'", "''")}''))::tsquery')`
    ]) {
      const result = await read("postgres", sql)
      expect(tagOf(result)).toBe("QueryRejected")
    }
    expect(await targets.postgres.exec("SELECT count(*)::int AS n FROM victims WHERE id = 77")).toEqual([{ n: 0 }])
  })

  test("pg_terminate_backend is refused: the other session is still alive", async () => {
    const victim = other()
    const [{ pid }] = await victim.unsafe("SELECT pg_backend_pid() AS pid")
    for (const sql of [
      `SELECT pg_terminate_backend(${pid})`,
      `SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, (''b'' || pg_terminate_backend(${pid})::text)::tsquery')`,
      `SELECT pg_catalog.pg_terminate_backend(${pid})`
    ]) {
      expect(tagOf(await read("postgres", sql))).toBe("QueryRejected")
    }
    expect(await victim.unsafe("SELECT 1 AS alive")).toEqual([{ alive: 1 }])
    await victim.close()
  })

  test("pg_read_file('/etc/passwd') is refused; no file content comes back", async () => {
    for (const sql of [
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, quote_literal(left(pg_read_file(''/etc/passwd''), 20))::tsquery')",
      "SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, true, '')",
      "SELECT my_wrapper_of_anything(1)"
    ]) {
      const result = await read("postgres", sql)
      expect(tagOf(result)).toBe("QueryRejected")
      expect(JSON.stringify(result)).not.toContain("root:")
    }
  })

  test("EXPLAIN ANALYZE runs in a read-only transaction: a guard slip still cannot write", async () => {
    const result = await h.attempt(Effect.flatMap(ConnectionPools, (pools) =>
      pools.withDriver(conns.postgres.id, Effect.dieMessage("pool must already be open"), (driver) =>
        driver.explain({ text: "DELETE FROM victims", isSelect: false }, [], { analyze: true, timeoutMs: 5_000, largeTableRows: 1_000 }))
    ))
    expect(result._tag).toBe("Left")
    expect(await targets.postgres.exec("SELECT count(*)::int AS n FROM victims")).toEqual([{ n: 3 }])
  })
})

describe("read-only on MariaDB", () => {
  test("lock, sleep and file functions are refused; a user lock taken past the guard is released on return", async () => {
    for (const sql of ["SELECT GET_LOCK('sqltool_bounds', 0)", "SELECT SLEEP(5)", "SELECT LOAD_FILE('/etc/passwd')", "SELECT my_udf(1)"]) {
      expect(tagOf(await read("mysql", sql))).toBe("QueryRejected")
    }
    const bypass = await unguarded("mysql", "SELECT GET_LOCK('sqltool_bounds', 0) AS got")
    expect(bypass._tag === "Right" && Number(bypass.right.rows[0].got)).toBe(1)
    const observer = new SQL(targets.mysql.url)
    const free = await observer.unsafe("SELECT IS_FREE_LOCK('sqltool_bounds') AS free")
    await observer.close()
    expect(Number(free[0].free)).toBe(1)
  })

  test("session state set past the guard does not reach the next statement on a pooled connection", async () => {
    const set = await unguarded("mysql", "SELECT @sqltool_leak := 42 AS v")
    expect(set._tag === "Right" && Number(set.right.rows[0].v)).toBe(42)
    for (let i = 0; i < 6; i++) {
      const seen = await unguarded("mysql", "SELECT @sqltool_leak AS v")
      expect(seen._tag === "Right" && seen.right.rows[0].v).toBeNull()
    }
  })
})

/** Joins, aggregates, CTEs, window functions, JSON: what read-only mode is for. */
const legitimate = (dialect: "postgres" | "mysql") => [
  "SELECT v.name, o.amount FROM victims v JOIN orders o ON o.victim_id = v.id ORDER BY o.id",
  "SELECT victim_id, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, max(amount) AS top FROM orders GROUP BY victim_id ORDER BY victim_id",
  "WITH t AS (SELECT victim_id, sum(amount) AS total FROM orders GROUP BY victim_id) SELECT v.name, t.total FROM victims v JOIN t ON t.victim_id = v.id ORDER BY v.name",
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) SELECT sum(x) AS s FROM c",
  "SELECT id, amount, rank() OVER (ORDER BY amount DESC) AS rk, lag(amount) OVER (ORDER BY id) AS prev FROM orders ORDER BY id",
  "SELECT victim_id, amount, sum(amount) OVER (PARTITION BY victim_id ORDER BY id) AS running FROM orders ORDER BY victim_id, id",
  "SELECT upper(name) AS u, length(name) AS l, substr(name, 1, 2) AS s, concat(name, '!') AS c, replace(name, 'a', 'A') AS r FROM victims ORDER BY id",
  "SELECT round(avg(amount), 2) AS mean, abs(min(amount) - max(amount)) AS spread, coalesce(NULL, 1) AS c FROM orders",
  "SELECT kind, count(*) AS n FROM events WHERE n BETWEEN 10 AND 20 GROUP BY kind HAVING count(*) > 1 ORDER BY kind LIMIT 5",
  "SELECT name FROM victims WHERE EXISTS (SELECT 1 FROM orders WHERE orders.victim_id = victims.id AND amount > 20) ORDER BY name",
  dialect === "postgres"
    ? "SELECT json_build_object('name', name, 'id', id)->>'name' AS n, jsonb_agg(id) OVER () AS ids FROM victims ORDER BY id"
    : "SELECT JSON_VALUE(JSON_OBJECT('name', name, 'id', id), '$.name') AS n, JSON_ARRAY(id, name) AS arr FROM victims ORDER BY id",
  dialect === "postgres"
    ? "SELECT date_trunc('day', now()) <= now() AS ok, extract(year FROM now()) > 2000 AS y, CAST(id AS text) AS t FROM victims ORDER BY id"
    : "SELECT DATE(NOW()) <= NOW() AS ok, YEAR(NOW()) > 2000 AS y, CAST(id AS CHAR) AS t FROM victims ORDER BY id"
]

describe.each(["postgres", "mysql"] as const)("legitimate queries still work on %s", (dialect) => {
  test.each(legitimate(dialect))("%s", async (sql) => {
    const result = await read(dialect, sql)
    if (result._tag === "Left") throw new Error(`${result.left._tag}: ${JSON.stringify(result.left)}`)
    expect(result.right.rows.length).toBeGreaterThan(0)
  })

  test("values come back right", async () => {
    const joined = await read(dialect, legitimate(dialect)[0])
    expect(joined._tag === "Right" && joined.right.rows.map((r) => Number(r.amount))).toEqual([10, 25, 5, 40])
    const recursive = await read(dialect, legitimate(dialect)[3])
    expect(recursive._tag === "Right" && Number(recursive.right.rows[0].s)).toBe(55)
    const json = await read(dialect, legitimate(dialect)[10])
    expect(json._tag === "Right" && json.right.rows.map((r) => r.n)).toEqual(["alice", "bob", "carol"])
  })
})

describe("the platform's embedded database is not a SQL-tool target", () => {
  const tmp = makeTempDir("sql-bounds-embedded")
  let embedded: ManagedRuntime.ManagedRuntime<EmbeddedPostgres, unknown>
  let info: { readonly port: number; readonly password: Redacted.Redacted<string> }

  beforeAll(async () => {
    await seedDataDir(tmp.dir)
    embedded = ManagedRuntime.make(EmbeddedPostgres.layer({ dataDir: tmp.dir, maxConnections: 2, sharedBuffers: "16MB" }))
    info = await embedded.runPromise(EmbeddedPostgres)
  }, 60_000)

  afterAll(async () => {
    await embedded?.dispose()
    tmp.remove()
  }, 30_000)

  test("a connection aimed at its loopback port is refused; only the platform's pool gets in", async () => {
    const url = `postgres://postgres@127.0.0.1:${info.port}/postgres`
    const created = await h.attempt(h.as("admin")(Effect.flatMap(SqlToolService, (s) =>
      s.create({ projectId: h.projectId, name: "embedded", connectionString: Redacted.make(url), writable: false, verify: true })
    )))
    expect(tagOf(created)).toBe("ServiceUnavailable")
    const guess = new pg.Client({ host: "127.0.0.1", port: info.port, user: "postgres", database: "postgres", password: "postgres" })
    const refused = await guess.connect().then(() => "connected", (e: { code?: string }) => e.code)
    expect(refused).toBe("28P01")
    await guess.end().catch(() => undefined)
    const platformPool = PgClient.layer({
      host: "127.0.0.1",
      port: info.port,
      database: "postgres",
      username: "postgres",
      password: info.password,
      maxConnections: 1
    })
    const one = await Effect.runPromise(
      Effect.flatMap(PgClient.PgClient, (sql) => sql<{ one: number }>`SELECT 1 AS one`).pipe(Effect.provide(platformPool))
    )
    expect(one).toEqual([{ one: 1 }])
  }, 60_000)
})

describe("statements in flight are budgeted per project", () => {
  let small: SqlToolHarness
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    small = await startSqlTool({ maxConcurrentPerProject: 1, defaultTimeoutMs: 1_000 })
    for (const project of [small.projectId, small.otherProjectId]) {
      const created = await small.run(small.as("admin", project)(Effect.flatMap(SqlToolService, (s) =>
        s.create({ projectId: project, name: "budget", connectionString: Redacted.make(targets.sqlite.url), writable: false, verify: true })
      )))
      ids[project] = created.id
    }
  }, 60_000)

  afterAll(async () => {
    await small?.stop()
  }, 30_000)

  const run = (project: string, sql: string, timeoutMs?: number) =>
    small.attempt(small.as("developer", project)(Effect.flatMap(SqlToolService, (s) =>
      s.execute(ids[project], { sql, params: [], mode: "read", timeoutMs })
    )))

  test("a tenant's second statement waits, then 503; another tenant is served meanwhile", async () => {
    const endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c"
    const hog = run(small.projectId, endless, 4_000)
    await Bun.sleep(200)
    const [queued, neighbour] = await Promise.all([
      run(small.projectId, "SELECT 1 AS one"),
      run(small.otherProjectId, "SELECT count(*) AS n FROM victims")
    ])
    expect(tagOf(queued)).toBe("ServiceUnavailable")
    expect(queued._tag === "Left" && "message" in queued.left && queued.left.message).toContain("busy")
    expect(neighbour._tag === "Right" && Number(neighbour.right.rows[0].n)).toBe(3)
    expect(tagOf(await hog)).toBe("GatewayTimeout")
    // The slot came back with the timeout.
    expect((await run(small.projectId, "SELECT 1 AS one"))._tag).toBe("Right")
  }, 30_000)
})
