import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { createPostgresTarget, createSqliteTarget, SQLITE_TARGETS_DIR, type Target } from "./targets.ts"

let platform: TestPlatform
let owner: SignedUp
let stranger: SignedUp
let pg: Target
let sqlite: Target
const MARKER = "http-pass-marker"

const call = (user: SignedUp | undefined, method: string, path: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...(user ? user.headers : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

let pgId: string
let sqliteId: string

beforeAll(async () => {
  ;[platform, pg, sqlite] = await Promise.all([
    startPlatform({
      egress: { allow: ["127.0.0.1"] },
      // EXPLAIN hints call a table large from this many rows (events has 5,000); the SQLite
      // target's directory is one an operator allows tenants to open.
      sqlTool: { largeTableRows: 1000, sqliteAllowDirs: [SQLITE_TARGETS_DIR] }
    }),
    createPostgresTarget(),
    createSqliteTarget()
  ])
  owner = await signUp(platform.baseUrl)
  stranger = await signUp(platform.baseUrl)
}, 120_000)

afterAll(async () => {
  await platform?.stop()
  await Promise.all([pg?.drop(), sqlite?.drop()])
}, 60_000)

describe("SQL tool over HTTP", () => {
  test("POST /sql/connections saves a connection and never returns its string", async () => {
    const res = await call(owner, "POST", "/sql/connections", {
      projectId: owner.projectId,
      name: "warehouse",
      connectionString: pg.url.replace("postgres@", `postgres:${MARKER}@`)
    })
    expect(res.status).toBe(201)
    const text = await res.text()
    expect(text).not.toContain(MARKER)
    const body = JSON.parse(text)
    expect(body).toMatchObject({ name: "warehouse", dialect: "postgres", writable: false, projectId: owner.projectId })
    expect(body.connectionString).toBeUndefined()
    pgId = body.id
    const lite = await call(owner, "POST", "/sql/connections", { projectId: owner.projectId, name: "local", connectionString: sqlite.url })
    expect(lite.status).toBe(201)
    sqliteId = (await lite.json()).id
    const dup = await call(owner, "POST", "/sql/connections", { projectId: owner.projectId, name: "local", connectionString: sqlite.url })
    expect(dup.status).toBe(409)
  })

  test("GET /sql/connections lists the project's connections without secrets", async () => {
    const res = await call(owner, "GET", `/sql/connections?projectId=${owner.projectId}`)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).not.toContain(MARKER)
    expect(JSON.parse(text).map((c: { name: string }) => c.name).sort()).toEqual(["local", "warehouse"])
    const all = await call(owner, "GET", "/sql/connections")
    expect((await all.json()).length).toBe(2)
    expect(await (await call(stranger, "GET", "/sql/connections")).json()).toEqual([])
  })

  test("POST /sql/execute returns rows for a SELECT and 400 QueryRejected for a write", async () => {
    const ok = await call(owner, "POST", "/sql/execute", {
      connectionId: pgId,
      sql: "SELECT v.name, sum(o.amount) AS total FROM victims v JOIN orders o ON o.victim_id = v.id WHERE v.id = $1 GROUP BY v.name",
      params: [1]
    })
    expect(ok.status).toBe(200)
    const body = await ok.json()
    expect(body).toMatchObject({ columns: ["name", "total"], rowCount: 1, truncated: false, mode: "read" })
    expect(body.rows[0].name).toBe("alice")
    expect(Number(body.rows[0].total)).toBe(35)
    const refused = await call(owner, "POST", "/sql/execute", { connectionId: sqliteId, sql: "SELECT 1; DROP TABLE victims" })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ _tag: "QueryRejected", reason: "stacked_statements" })
    const write = await call(owner, "POST", "/sql/execute", { connectionId: pgId, sql: "DELETE FROM victims", mode: "write" })
    expect(write.status).toBe(403)
    expect(await pg.exec("SELECT count(*)::int AS n FROM victims")).toEqual([{ n: 3 }])
  })

  test("GET /sql/schema/{conn} and POST /sql/explain", async () => {
    const schema = await call(owner, "GET", `/sql/schema/${sqliteId}`)
    expect(schema.status).toBe(200)
    const tables = (await schema.json()).tables as Array<{ name: string; primaryKey: Array<string> }>
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["victims", "orders", "events"]))
    expect(tables.find((t) => t.name === "orders")?.primaryKey).toEqual(["id"])
    const explain = await call(owner, "POST", "/sql/explain", { connectionId: pgId, sql: "SELECT * FROM events WHERE kind = $1", params: ["k1"] })
    expect(explain.status).toBe(200)
    const plan = await explain.json()
    expect(plan.analyzed).toBe(false)
    expect(plan.hints.map((h: { kind: string }) => h.kind)).toContain("missing_index")
    const analyze = await call(owner, "POST", "/sql/explain", { connectionId: pgId, sql: "SELECT 1", analyze: true })
    expect(analyze.status).toBe(403)
  })

  test("other tenants get 404, anonymous callers 401, bad bodies 400", async () => {
    expect((await call(stranger, "GET", `/sql/schema/${pgId}`)).status).toBe(404)
    expect((await call(stranger, "POST", "/sql/execute", { connectionId: pgId, sql: "SELECT 1" })).status).toBe(404)
    expect((await call(stranger, "GET", `/sql/connections?projectId=${owner.projectId}`)).status).toBe(404)
    expect((await call(stranger, "DELETE", `/sql/connections/${pgId}`)).status).toBe(404)
    expect((await call(undefined, "POST", "/sql/execute", { connectionId: pgId, sql: "SELECT 1" })).status).toBe(401)
    const bad = await call(owner, "POST", "/sql/execute", { connectionId: pgId })
    expect(bad.status).toBe(400)
    const badUrl = await call(owner, "POST", "/sql/connections", { projectId: owner.projectId, name: "x", connectionString: `ftp://u:${MARKER}@h/db` })
    expect(badUrl.status).toBe(400)
    expect(await badUrl.text()).not.toContain(MARKER)
  })

  test("an unreachable server answers 503 with a clear reason", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    const port = server.port
    server.stop(true)
    const res = await call(owner, "POST", "/sql/connections", {
      projectId: owner.projectId,
      name: "mssql",
      connectionString: `sqlserver://sa:${MARKER}@127.0.0.1:${port}/master`
    })
    expect(res.status).toBe(503)
    const text = await res.text()
    // The egress policy's one text: a closed port reads like a refused destination.
    expect(text).toContain("destination not allowed or unreachable")
    expect(text).not.toContain(MARKER)
  })

  test("agents reach the connection through the sql_query built-in tool", async () => {
    const listed = await call(owner, "GET", `/tools?projectId=${owner.projectId}`)
    expect((await listed.json()).tools.map((t: { name: string }) => t.name)).toContain("sql_query")
    const res = await call(owner, "POST", "/tools/sql_query/execute", {
      projectId: owner.projectId,
      arguments: { connection: "warehouse", sql: "SELECT name FROM victims WHERE id = $1", params: [3] }
    })
    expect(res.status).toBe(200)
    const result = await res.json()
    expect(result.isError).toBe(false)
    expect(JSON.stringify(result.content)).toContain("carol")
    const write = await call(owner, "POST", "/tools/sql_query/execute", {
      projectId: owner.projectId,
      arguments: { connection: "warehouse", sql: "DELETE FROM victims" }
    })
    expect((await write.json()).isError).toBe(true)
    expect(await pg.exec("SELECT count(*)::int AS n FROM victims")).toEqual([{ n: 3 }])
  })

  test("DELETE /sql/connections/{id} removes it", async () => {
    expect((await call(owner, "DELETE", `/sql/connections/${sqliteId}`)).status).toBe(204)
    expect((await call(owner, "POST", "/sql/execute", { connectionId: sqliteId, sql: "SELECT 1" })).status).toBe(404)
  })
})
