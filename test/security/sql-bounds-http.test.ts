import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { createPostgresTarget, createSqliteTarget, SQLITE_TARGETS_DIR, type Target } from "../sql-tool/targets.ts"
import { listeningPorts, sqliteWorkers, withStallProbe } from "./processProbes.ts"

/**
 * Issue #17's SQL inputs sent to the real server over HTTP (the platform in
 * this process on the embedded database, the target on the real PostgreSQL
 * 15): bounded answers with their HTTP status, /health answering meanwhile,
 * and the platform's own database out of reach.
 */
const MB = 1024 * 1024
const rss = () => process.memoryUsage().rss
let target: Target
let sqlite: Target

beforeAll(async () => {
  ;[target, sqlite] = await Promise.all([createPostgresTarget(), createSqliteTarget()])
}, 60_000)

afterAll(async () => {
  await Promise.all([target?.drop(), sqlite?.drop()])
}, 60_000)

describe("over HTTP, against the real server", () => {
  let platform: TestPlatform
  let owner: SignedUp
  let pgId: string
  let sqliteId: string

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${platform.baseUrl}${path}`, {
      method,
      headers: { ...owner.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })

  beforeAll(async () => {
    // Loopback admitted by the operator allow-list: what refuses the embedded database below is its own wall.
    // The SQLite target's directory is one an operator allows tenants to open.
    platform = await startPlatform({ egress: { allow: ["127.0.0.1"] }, sqlTool: { sqliteAllowDirs: [SQLITE_TARGETS_DIR] } })
    owner = await signUp(platform.baseUrl)
    const created = await call("POST", "/sql/connections", { projectId: owner.projectId, name: "pg", connectionString: target.url })
    expect(created.status).toBe(201)
    pgId = (await created.json()).id
    const lite = await call("POST", "/sql/connections", { projectId: owner.projectId, name: "lite", connectionString: sqlite.url })
    expect(lite.status).toBe(201)
    sqliteId = (await lite.json()).id
  }, 120_000)

  afterAll(async () => {
    await platform?.stop()
  }, 60_000)

  test("no SQL connection reaches the platform's own embedded database", async () => {
    const httpPort = Number(new URL(platform.baseUrl).port)
    const candidates = listeningPorts().filter((p) => p !== httpPort)
    expect(candidates.length).toBeGreaterThan(0)
    const messages: Array<string> = []
    for (const port of candidates) {
      const res = await call("POST", "/sql/connections", {
        projectId: owner.projectId,
        name: `embedded-${port}`,
        connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`
      })
      expect(res.status).toBe(503)
      messages.push((await res.json()).message)
    }
    // The embedded port was reached and asked for the password it was not given.
    expect(messages.some((m) => m.includes("authentication failed"))).toBe(true)
  }, 60_000)

  test("a statement past timeoutMs answers 504 in bounded time while /health keeps answering", async () => {
    let healthy = 0
    let slowestHealthMs = 0
    let running = true
    const poll = (async () => {
      while (running) {
        const started = performance.now()
        if ((await fetch(`${platform.baseUrl}/health`)).status === 200) healthy++
        slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started)
        await Bun.sleep(100)
      }
    })()
    const started = performance.now()
    const { result: res, maxStallMs } = await withStallProbe(() =>
      call("POST", "/sql/execute", { connectionId: pgId, sql: "SELECT count(*) FROM generate_series(1, 10000000000)", timeoutMs: 1_000 })
    )
    const elapsed = performance.now() - started
    running = false
    await poll
    expect(res.status).toBe(504)
    expect(elapsed).toBeLessThan(10_000)
    expect(healthy).toBeGreaterThan(0)
    expect(slowestHealthMs).toBeLessThan(5_000)
    expect(maxStallMs).toBeLessThan(1_000)
  }, 60_000)

  test("a 200 MB value answers 400 with the byte limit; ts_rewrite answers 400", async () => {
    const before = rss()
    const big = await call("POST", "/sql/execute", { connectionId: pgId, sql: "SELECT repeat('x', 200000000) AS big", timeoutMs: 60_000 })
    expect(big.status).toBe(400)
    expect((await big.json()).message).toContain("result exceeds 5242880 bytes")
    expect((rss() - before) / MB).toBeLessThan(300)
    const rewrite = await call("POST", "/sql/execute", {
      connectionId: pgId,
      sql: "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, quote_literal(pg_read_file(''/etc/passwd''))::tsquery')"
    })
    expect(rewrite.status).toBe(400)
    expect(await rewrite.text()).not.toContain("root:")
  }, 90_000)

  test("an endless SQLite query answers 504 at its timeout, /health keeps answering, the worker is gone", async () => {
    let healthy = 0
    let running = true
    const poll = (async () => {
      while (running) {
        if ((await fetch(`${platform.baseUrl}/health`)).status === 200) healthy++
        await Bun.sleep(100)
      }
    })()
    const started = performance.now()
    const { result: res, maxStallMs } = await withStallProbe(() =>
      call("POST", "/sql/execute", {
        connectionId: sqliteId,
        sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c",
        timeoutMs: 500
      })
    )
    const elapsed = performance.now() - started
    running = false
    await poll
    expect(res.status).toBe(504)
    expect(elapsed).toBeLessThan(10_000)
    expect(healthy).toBeGreaterThan(0)
    expect(maxStallMs).toBeLessThan(1_000)
    for (let i = 0; i < 40 && sqliteWorkers().length > 0; i++) await Bun.sleep(50)
    expect(sqliteWorkers()).toEqual([])
    const blob = await call("POST", "/sql/execute", { connectionId: sqliteId, sql: "SELECT zeroblob(200000000) AS b" })
    expect(blob.status).toBe(400)
    expect((await blob.json()).message).toMatch(/exceeds \d+ bytes/)
  }, 60_000)
})
