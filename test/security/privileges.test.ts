import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Database } from "bun:sqlite"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { ConnectionSecrets, KEY_FILE } from "../../src/sql-tool/ConnectionSecrets.ts"
import { SqlToolConfig } from "../../src/sql-tool/SqlToolConfig.ts"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import { referenceServer } from "../mcp/support.ts"
import { authConfig, signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Issue #16 (privileges): a self-registered user is admin of their own
 * project, and that must give no power over the host. Each attack runs
 * against the real platform and must fail with nothing executed, read or
 * changed; the platform operator can still do the legitimate thing.
 */
setDefaultTimeout(30_000)

const PUSH_TOKEN = "push-token-secret-4b1e"
const OPERATOR_EMAIL = `operator-${crypto.randomUUID().slice(0, 8)}@test.example`
const scratch = makeTempDir("privileges")
/** Files the attacks would create if any command ran. */
const markers = {
  python: path.join(scratch.dir, "python-ran"),
  node: path.join(scratch.dir, "node-ran"),
  env: path.join(scratch.dir, "env-ran"),
  legacy: path.join(scratch.dir, "legacy-ran")
}
/** A directory the operator lets tenants open SQLite files in. */
const sharedDir = path.join(scratch.dir, "shared-sqlite")
/** Somewhere else entirely: only an operator may point a connection here. */
const privateDir = path.join(scratch.dir, "operator-only")

let platform: TestPlatform
let operator: SignedUp
let tenant: SignedUp
let other: SignedUp
let viewer: SignedUp

const call = (user: SignedUp | null, method: string, url: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${url}`, {
    method,
    headers: { "content-type": "application/json", ...(user ? user.headers : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })

const seedSqlite = (file: string, secret: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file, { create: true })
  db.run("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)")
  db.run("INSERT INTO notes (body) VALUES (?)", [secret])
  db.close()
}

beforeAll(async () => {
  fs.mkdirSync(sharedDir, { recursive: true })
  fs.mkdirSync(privateDir, { recursive: true })
  seedSqlite(path.join(sharedDir, "shared.db"), "shared-row")
  seedSqlite(path.join(privateDir, "private.db"), "private-row")
  platform = await startPlatform({
    auth: authConfig({ platformOperators: [OPERATOR_EMAIL] }),
    tools: { ...Effect.runSync(ToolsConfig.config), mcpStdioCatalog: [] },
    sqlTool: { sqliteAllowDirs: [sharedDir] },
    // The push receiver below listens on loopback: the operator admits it (the egress policy's own tests cover the refusal).
    egress: { allow: ["127.0.0.1"] }
  })
  ;[operator, tenant, other, viewer] = await Promise.all([
    signUp(platform.baseUrl, { email: OPERATOR_EMAIL }),
    signUp(platform.baseUrl),
    signUp(platform.baseUrl),
    signUp(platform.baseUrl)
  ])
  const added = await call(tenant, "POST", `/projects/${tenant.projectId}/members`, { email: viewer.email, role: "viewer" })
  if (added.status !== 201) throw new Error(`adding the viewer failed: ${added.status}`)
}, 120_000)

afterAll(async () => {
  await platform?.stop()
  scratch.remove()
})

describe("the platform operator", () => {
  test("operators are named by PLATFORM_OPERATORS; /auth/me says who is one", async () => {
    expect(await (await call(operator, "GET", "/auth/me")).json()).toMatchObject({ email: OPERATOR_EMAIL, operator: true })
    expect(await (await call(tenant, "GET", "/auth/me")).json()).toMatchObject({ operator: false })
  })

  test("a tenant cannot promote anyone (itself included); an operator can promote and demote", async () => {
    const self = await call(tenant, "POST", "/auth/operators", { email: tenant.email, operator: true })
    expect(self.status).toBe(403)
    expect(await (await call(tenant, "GET", "/auth/me")).json()).toMatchObject({ operator: false })
    const promoted = await call(operator, "POST", "/auth/operators", { email: other.email, operator: true })
    expect(promoted.status).toBe(200)
    expect(await promoted.json()).toMatchObject({ email: other.email, operator: true })
    expect(await (await call(other, "GET", "/auth/me")).json()).toMatchObject({ operator: true })
    expect((await call(operator, "POST", "/auth/operators", { email: other.email, operator: false })).status).toBe(200)
    expect(await (await call(other, "GET", "/auth/me")).json()).toMatchObject({ operator: false })
    expect((await call(operator, "POST", "/auth/operators", { email: "nobody@test.example", operator: true })).status).toBe(404)
  })
})

describe("stdio MCP servers: no tenant command line", () => {
  const register = (user: SignedUp, name: string, transport: unknown, projectId = user.projectId) =>
    call(user, "POST", "/tools/mcp/register", { projectId, name, transport })

  test("python3 -c / node -e / NODE_OPTIONS from a project admin: 403 and nothing runs", async () => {
    const attempts = [
      { type: "stdio", command: "python3", args: ["-c", `open(${JSON.stringify(markers.python)}, "w").write("x")`] },
      { type: "stdio", command: "node", args: ["-e", `require("fs").writeFileSync(${JSON.stringify(markers.node)}, "x")`] },
      {
        type: "stdio",
        command: "bun",
        args: ["-e", `require("fs").writeFileSync(${JSON.stringify(markers.env)}, "x")`],
        env: { NODE_OPTIONS: `--require ${markers.env}` }
      }
    ]
    for (const [i, transport] of attempts.entries()) {
      const res = await register(tenant, `attack-${i}`, transport)
      expect(res.status).toBe(403)
      expect((await res.json())._tag).toBe("Forbidden")
    }
    await Bun.sleep(500)
    for (const marker of Object.values(markers)) expect(fs.existsSync(marker)).toBe(false)
    const { servers } = await (await call(tenant, "GET", `/tools/mcp/servers?projectId=${tenant.projectId}`)).json()
    expect(servers).toEqual([])
  })

  test("a command line stored before the catalog (a tenant's) is never started", async () => {
    const id = `mcp_${crypto.randomUUID()}`
    const transport = { type: "stdio", command: "node", args: ["-e", `require("fs").writeFileSync(${JSON.stringify(markers.legacy)}, "x")`], env: {} }
    await platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
      INSERT INTO tool_instances (id, project_id, name, kind, config, status)
      VALUES (${id}, ${tenant.projectId}, 'legacy', 'mcp', ${JSON.stringify({ transport })}::jsonb, 'registered')`))
    const detail = await call(tenant, "GET", `/tools/mcp/servers/${id}`)
    expect(detail.status).toBe(200)
    const { session } = await detail.json()
    expect(session.connected).toBe(false)
    expect(session.lastError).toContain("not approved by a platform operator")
    const run = await call(tenant, "POST", "/tools/legacy__echo/execute", { projectId: tenant.projectId, arguments: {} })
    expect(run.status).toBeGreaterThanOrEqual(400)
    await Bun.sleep(300)
    expect(fs.existsSync(markers.legacy)).toBe(false)
    expect((await call(tenant, "DELETE", `/tools/mcp/servers/${id}`)).status).toBe(204)
  })

  test("an operator may still register a command line directly", async () => {
    const res = await register(operator, "direct", { type: "stdio", command: "bun", args: [referenceServer.everything, "stdio"] })
    expect(res.status).toBe(201)
    expect((await res.json()).session.connected).toBe(true)
    const { servers } = await (await call(operator, "GET", `/tools/mcp/servers?projectId=${operator.projectId}`)).json()
    expect(servers[0].transport).toMatchObject({ type: "stdio", command: "bun" })
  })

  test("publishing to the catalog is operator-only", async () => {
    const entry = { command: "python3", args: ["-c", `open(${JSON.stringify(markers.python)}, "w")`] }
    expect((await call(tenant, "PUT", "/tools/mcp/catalog/mine", entry)).status).toBe(403)
    expect((await call(tenant, "DELETE", "/tools/mcp/catalog/mine")).status).toBe(403)
    const { entries } = await (await call(tenant, "GET", "/tools/mcp/catalog")).json()
    expect(entries.map((e: { id: string }) => e.id)).not.toContain("mine")
  })

  test("an operator publishes an npm reference server; a project instantiates it by id and calls it", async () => {
    const published = await call(operator, "PUT", "/tools/mcp/catalog/everything", {
      description: "MCP reference server",
      command: "bun",
      args: [referenceServer.everything, "stdio"],
      env: { API_TOKEN: "{{token}}" },
      params: [{ name: "token", pattern: "[A-Za-z0-9_-]{1,64}", required: false }]
    })
    expect(published.status).toBe(200)
    const typo = await call(operator, "PUT", "/tools/mcp/catalog/typo", { command: "bun", args: ["{{undeclared}}"] })
    expect(typo.status).toBe(400)
    // Members see what exists and its parameters; only operators see the command line.
    const forTenant = (await (await call(tenant, "GET", "/tools/mcp/catalog")).json()).entries.find((e: { id: string }) => e.id === "everything")
    expect(forTenant).toMatchObject({ id: "everything", source: "operator", params: [{ name: "token" }] })
    expect(forTenant.command).toBeUndefined()
    expect(forTenant.args).toBeUndefined()
    const forOperator = (await (await call(operator, "GET", "/tools/mcp/catalog")).json()).entries.find((e: { id: string }) => e.id === "everything")
    expect(forOperator).toMatchObject({ command: "bun", envKeys: ["API_TOKEN"] })

    // Parameter values cannot add flags or step outside the operator's pattern.
    for (const token of ["--inspect=0.0.0.0:9229", "a b;touch x", "$(id)"]) {
      const res = await register(tenant, "bad-param", { type: "catalog", entry: "everything", params: { token } })
      expect(res.status).toBe(400)
      expect((await res.json()).issues[0].path).toBe("transport.params.token")
    }
    const unknownParam = await register(tenant, "bad-param", { type: "catalog", entry: "everything", params: { NODE_OPTIONS: "x" } })
    expect(unknownParam.status).toBe(400)

    const res = await register(tenant, "everything", { type: "catalog", entry: "everything", params: { token: "tenant-token-1" } })
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.session.connected).toBe(true)
    expect(body.server.transport).toEqual({ type: "catalog", entry: "everything", paramNames: ["token"] })
    const sum = await call(tenant, "POST", "/tools/everything__get-sum/execute", { projectId: tenant.projectId, arguments: { a: 40, b: 2 } })
    expect(sum.status).toBe(200)
    expect((await sum.json()).content[0].text).toContain("42")

    // A viewer of the project sees the server, not its parameters.
    const { servers } = await (await call(viewer, "GET", `/tools/mcp/servers?projectId=${tenant.projectId}`)).json()
    expect(servers[0].transport).toEqual({ type: "catalog", entry: "everything" })
  })

  test("an operator removing a catalog entry stops projects from starting it again", async () => {
    const { servers } = await (await call(tenant, "GET", `/tools/mcp/servers?projectId=${tenant.projectId}`)).json()
    const serverId = servers.find((x: { name: string }) => x.name === "everything").id
    const { pid } = (await (await call(tenant, "GET", `/tools/mcp/servers/${serverId}`)).json()).session
    expect((await call(operator, "DELETE", "/tools/mcp/catalog/everything")).status).toBe(204)
    // The running process dies; the session's reconnect reads the catalog again and finds nothing to start.
    process.kill(pid, "SIGKILL")
    await waitFor(async () => {
      const { session } = await (await call(tenant, "GET", `/tools/mcp/servers/${serverId}`)).json()
      return !session.connected && String(session.lastError).includes("no longer exists")
    }, 15_000)
    const sum = await call(tenant, "POST", "/tools/everything__get-sum/execute", { projectId: tenant.projectId, arguments: { a: 1, b: 2 } })
    expect(sum.status).toBeGreaterThanOrEqual(400)
    const res = await register(tenant, "again", { type: "catalog", entry: "everything" })
    expect(res.status).toBe(400)
    expect((await call(operator, "DELETE", "/tools/mcp/catalog/everything")).status).toBe(404)
  })
})

describe("SQL connections: writable and file paths are the operator's", () => {
  const create = (user: SignedUp, name: string, connectionString: string, extra: Record<string, unknown> = {}) =>
    call(user, "POST", "/sql/connections", { projectId: user.projectId, name, connectionString, ...extra })

  test("a writable connection from a project admin is 403; from an operator it works", async () => {
    const refused = await create(tenant, "rw", `sqlite:${path.join(sharedDir, "shared.db")}`, { writable: true })
    expect(refused.status).toBe(403)
    const { length } = await (await call(tenant, "GET", `/sql/connections?projectId=${tenant.projectId}`)).json()
    expect(length).toBe(0)
    const allowed = await create(operator, "rw", `sqlite:${path.join(privateDir, "private.db")}`, { writable: true })
    expect(allowed.status).toBe(201)
    const conn = await allowed.json()
    const wrote = await call(operator, "POST", "/sql/execute", {
      connectionId: conn.id,
      sql: "INSERT INTO notes (body) VALUES ('by operator')",
      mode: "write"
    })
    expect(wrote.status).toBe(200)
  })

  test("SQLite: /etc/passwd, '..', another project's file and a symlink out of the project dir are refused", async () => {
    const otherFile = path.join(platform.dataDir, "sqlite", other.projectId, "data.db")
    seedSqlite(otherFile, "other-tenant-secret")
    const ownDir = path.join(platform.dataDir, "sqlite", tenant.projectId)
    fs.mkdirSync(ownDir, { recursive: true })
    fs.symlinkSync(otherFile, path.join(ownDir, "link.db"))
    const attempts: Array<[string, number]> = [
      ["sqlite:/etc/passwd", 403],
      [`sqlite:${otherFile}`, 403],
      [`sqlite:../${other.projectId}/data.db`, 400],
      [`sqlite:${ownDir}/../${other.projectId}/data.db`, 400],
      ["sqlite:link.db", 403],
      [`sqlite:${path.join(privateDir, "private.db")}`, 403]
    ]
    for (const [connectionString, status] of attempts) {
      const res = await create(tenant, "escape", connectionString)
      expect({ connectionString, status: res.status }).toEqual({ connectionString, status })
      const text = await res.text()
      expect(text).not.toContain("other-tenant-secret")
    }
    const { length } = await (await call(tenant, "GET", `/sql/connections?projectId=${tenant.projectId}`)).json()
    expect(length).toBe(0)
  })

  test("inside the project's own directory and an operator-allowed directory it works", async () => {
    seedSqlite(path.join(platform.dataDir, "sqlite", tenant.projectId, "own.db"), "own-row")
    const own = await create(tenant, "own", "sqlite:own.db")
    expect(own.status).toBe(201)
    const shared = await create(tenant, "shared", `sqlite:${path.join(sharedDir, "shared.db")}`)
    expect(shared.status).toBe(201)
    for (const [conn, row] of [[await own.json(), "own-row"], [await shared.json(), "shared-row"]] as const) {
      const res = await call(tenant, "POST", "/sql/execute", { connectionId: conn.id, sql: "SELECT body FROM notes" })
      expect(res.status).toBe(200)
      expect((await res.json()).rows[0].body).toBe(row)
    }
    // The listing names the file, never the path it resolves to.
    const listed = await (await call(viewer, "GET", `/sql/connections?projectId=${tenant.projectId}`)).text()
    expect(listed).not.toContain(platform.dataDir)
    expect(listed).not.toContain(sharedDir)
  })
})

describe("connection secrets: no key in the source", () => {
  const LEGACY = "agent-platform/sql-tool/development-key (set SQL_TOOL_SECRET_KEY)"
  const keyOf = async (material: string) =>
    crypto.subtle.importKey(
      "raw",
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(material)),
      { name: "AES-GCM" },
      false,
      ["encrypt", "decrypt"]
    )
  const aad = (projectId: string, id: string) => new TextEncoder().encode(`${projectId}\u0000${id}`)
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
  /** What the previous release stored with SQL_TOOL_SECRET_KEY unset. */
  const legacySeal = async (plaintext: string, projectId: string, id: string) => {
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(projectId, id) },
      await keyOf(LEGACY),
      new TextEncoder().encode(plaintext)
    )
    return `v1.${b64(iv)}.${b64(new Uint8Array(sealed))}`
  }
  const legacyOpens = async (blob: string, projectId: string, id: string) => {
    const [, iv, body] = blob.split(".")
    return crypto.subtle.decrypt(
      { name: "AES-GCM", iv: Buffer.from(iv!, "base64"), additionalData: aad(projectId, id) },
      await keyOf(LEGACY),
      Buffer.from(body!, "base64")
    ).then(() => true, () => false)
  }
  const sql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
    platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, f))

  test("dev: a random key made once per data directory, mode 0600", () => {
    const file = path.join(platform.dataDir, KEY_FILE)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(file, "utf8").length).toBeGreaterThanOrEqual(40)
  })

  test("a row sealed with the old source key still works once, and is re-sealed so that key no longer opens it", async () => {
    const id = crypto.randomUUID()
    const file = path.join(sharedDir, "shared.db")
    const blob = await legacySeal(`sqlite:${file}`, tenant.projectId, id)
    await sql((s) => s`
      INSERT INTO sql_connections (id, project_id, name, dialect, target, secret, writable, created_by)
      VALUES (${id}, ${tenant.projectId}, 'legacy', 'sqlite', 'shared.db', ${blob}, false, ${tenant.userId})`)
    const res = await call(tenant, "POST", "/sql/execute", { connectionId: id, sql: "SELECT body FROM notes" })
    expect(res.status).toBe(200)
    expect((await res.json()).rows[0].body).toBe("shared-row")
    const [row] = await sql((s) => s<{ secret: string }>`SELECT secret FROM sql_connections WHERE id = ${id}`)
    expect(row!.secret.startsWith("v2.")).toBe(true)
    expect(await legacyOpens(row!.secret, tenant.projectId, id)).toBe(false)
    // And every secret the platform sealed itself never opened with the old key.
    const all = await sql((s) => s<{ id: string; projectId: string; secret: string }>`SELECT id, project_id, secret FROM sql_connections`)
    for (const r of all) expect(await legacyOpens(r.secret, r.projectId, r.id)).toBe(false)
  })

  test("rows from before confinement lose their reach: another project's SQLite file is refused, writes too", async () => {
    const otherFile = path.join(platform.dataDir, "sqlite", other.projectId, "data.db")
    const id = crypto.randomUUID()
    const blob = await legacySeal(`sqlite:${otherFile}`, tenant.projectId, id)
    await sql((s) => s`
      INSERT INTO sql_connections (id, project_id, name, dialect, target, secret, writable, created_by)
      VALUES (${id}, ${tenant.projectId}, 'old-escape', 'sqlite', 'data.db', ${blob}, true, ${tenant.userId})`)
    const read = await call(tenant, "POST", "/sql/execute", { connectionId: id, sql: "SELECT body FROM notes" })
    expect(read.status).toBe(503)
    expect(await read.text()).not.toContain("other-tenant-secret")
    const write = await call(tenant, "POST", "/sql/execute", { connectionId: id, sql: "DELETE FROM notes", mode: "write" })
    expect(write.status).toBe(403)
    const db = new Database(otherFile, { readonly: true })
    expect(db.query("SELECT count(*) AS n FROM notes").get()).toEqual({ n: 1 })
    db.close()
  })

  test("the key file is kept across restarts of the same data directory; another directory cannot open its secrets", async () => {
    const secretsIn = (dataDir: string, clusterMode: "single" | "runner" = "single") =>
      ConnectionSecrets.Default.pipe(
        Layer.provide(AppConfig.layerWith({ dataDir, clusterMode })),
        Layer.provide(SqlToolConfig.layerWith({ secretKey: Option.none() }))
      )
    const dir = makeTempDir("secrets-a")
    const elsewhere = makeTempDir("secrets-b")
    try {
      const run = <A, E>(dataDir: string, f: (s: ConnectionSecrets) => Effect.Effect<A, E>) =>
        Effect.runPromise(Effect.flatMap(ConnectionSecrets, f).pipe(Effect.provide(secretsIn(dataDir))))
      const blob = await run(dir.dir, (s) => s.seal(Redacted.make("postgres://u:pw@db/x"), ["p", "c"]))
      expect(Redacted.value(await run(dir.dir, (s) => s.open(blob, ["p", "c"])))).toBe("postgres://u:pw@db/x")
      const foreign = await Effect.runPromise(
        Effect.either(Effect.flatMap(ConnectionSecrets, (s) => s.open(blob, ["p", "c"]))).pipe(Effect.provide(secretsIn(elsewhere.dir)))
      )
      expect(foreign._tag).toBe("Left")
      // Cluster modes: no key, no start.
      const exit = await Effect.runPromiseExit(Effect.provide(ConnectionSecrets, secretsIn(elsewhere.dir, "runner")))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("SQL_TOOL_SECRET_KEY is required")
    } finally {
      dir.remove()
      elsewhere.remove()
    }
  })
})

describe("what viewers see", () => {
  test("connection listings carry no connection string for anyone", async () => {
    const made = await call(tenant, "POST", "/sql/connections", {
      projectId: tenant.projectId,
      name: "shared-2",
      connectionString: `sqlite:${path.join(sharedDir, "shared.db")}`
    })
    expect(made.status).toBe(201)
    for (const user of [tenant, viewer]) {
      const text = await (await call(user, "GET", `/sql/connections?projectId=${tenant.projectId}`)).text()
      expect(text).not.toContain("sqlite:")
    }
  })

  test("push-notification tokens are shown to developers, never to viewers", async () => {
    const receiver = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") })
    try {
      const agent = await call(tenant, "POST", "/agents", { projectId: tenant.projectId, name: "Pusher", description: "local model" })
      expect(agent.status).toBe(201)
      const { id: agentId } = await agent.json()
      const rpc = async (user: SignedUp, method: string, params: unknown) =>
        (await (await call(user, "POST", `/agents/${agentId}/a2a`, { jsonrpc: "2.0", id: 1, method, params })).json()) as any
      const sent = await rpc(tenant, "SendMessage", {
        message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: "hello" }] },
        configuration: { taskPushNotificationConfig: { url: `http://127.0.0.1:${receiver.port}/push`, token: PUSH_TOKEN } }
      })
      expect(sent.error).toBeUndefined()
      const taskId = sent.result.task?.id ?? sent.result.id
      const forOwner = await rpc(tenant, "ListTaskPushNotificationConfigs", { taskId })
      expect(JSON.stringify(forOwner.result)).toContain(PUSH_TOKEN)
      const forViewer = await rpc(viewer, "ListTaskPushNotificationConfigs", { taskId })
      expect(forViewer.result.configs).toHaveLength(1)
      expect(JSON.stringify(forViewer)).not.toContain(PUSH_TOKEN)
      const one = await rpc(viewer, "GetTaskPushNotificationConfig", { taskId, id: forViewer.result.configs[0].id })
      expect(one.result.url).toContain("/push")
      expect(JSON.stringify(one)).not.toContain(PUSH_TOKEN)
    } finally {
      receiver.stop(true)
    }
  })

  test("the public agent card never advertises the Host header a caller sent", async () => {
    const { port } = new URL(platform.baseUrl)
    const raw = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path: "/.well-known/agent-card.json", headers: { host: "evil.example" } }, (res) => {
        let text = ""
        res.on("data", (c: Buffer) => (text += c.toString()))
        res.on("end", () => resolve(text))
      })
      req.on("error", reject)
      req.end()
    })
    expect(raw).not.toContain("evil.example")
    expect(JSON.parse(raw).supportedInterfaces[0].url).toBe(`http://127.0.0.1:${port}/a2a`)
  })

  test("the server keeps working for members after the attacks (nothing was changed)", async () => {
    await waitFor(async () => (await call(null, "GET", "/health")).status === 200, 5_000)
    expect((await call(tenant, "GET", "/auth/me")).status).toBe(200)
  })
})
