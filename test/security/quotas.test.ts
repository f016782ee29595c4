import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * OWASP API4 (unrestricted resource consumption): what a tenant creates is bounded per project
 * (per user for projects). Small quotas here; the defaults are in README "Configuration".
 */
const sqliteDir = makeTempDir("quota-sqlite")
const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ ok: true }) })
let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

beforeAll(async () => {
  platform = await startPlatform({
    auth: { quotas: { agentsPerProject: 2, workflowsPerProject: 1, toolsPerProject: 1, apiKeysPerProject: 1, alertRulesPerProject: 1, projectsPerUser: 2, sqlConnectionsPerProject: 1, documentsPerProject: 1 } },
    sqlTool: { sqliteAllowDirs: [sqliteDir.dir] },
    egress: { allow: [`127.0.0.1:${upstream.port}`] }
  })
  ;[alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
}, 240_000)
afterAll(async () => {
  await platform?.stop()
  upstream.stop(true)
  sqliteDir.remove()
})

const call = async (user: SignedUp, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) }
}

const expectQuota = (res: { status: number; body: any }, variable: string) => {
  expect(res.status).toBe(409)
  expect(res.body._tag).toBe("Conflict")
  expect(res.body.message).toContain(variable)
}

describe("per-tenant quotas", () => {
  test("agents: the project's limit is a 409 naming the setting; deleting one makes room; another project is not affected", async () => {
    const make = (user: SignedUp, name: string) => call(user, "POST", "/agents", { projectId: user.projectId, name })
    const first = await make(alice, "a1")
    expect(first.status).toBe(201)
    expect((await make(alice, "a2")).status).toBe(201)
    expectQuota(await make(alice, "a3"), "QUOTA_AGENTS_PER_PROJECT")
    expect((await make(bob, "b1")).status).toBe(201)
    expect((await call(alice, "DELETE", `/agents/${first.body.id}`)).status).toBe(204)
    expect((await make(alice, "a3")).status).toBe(201)
  })

  test("projects per owner: the sign-up project counts", async () => {
    expect((await call(alice, "POST", "/projects", { name: "second" })).status).toBe(201)
    expectQuota(await call(alice, "POST", "/projects", { name: "third" }), "QUOTA_PROJECTS_PER_USER")
  })

  test("API keys: active keys count, a revoked one does not", async () => {
    const path = `/projects/${alice.projectId}/api-keys`
    const key = await call(alice, "POST", path, { name: "k1" })
    expect(key.status).toBe(201)
    expectQuota(await call(alice, "POST", path, { name: "k2" }), "QUOTA_API_KEYS_PER_PROJECT")
    expect((await call(alice, "DELETE", `${path}/${key.body.id}`)).status).toBe(204)
    expect((await call(alice, "POST", path, { name: "k2" })).status).toBe(201)
  })

  test("workflows, alert rules, and tools (HTTP tools and MCP servers share one budget)", async () => {
    const workflow = (name: string) =>
      call(alice, "POST", "/workflows", { projectId: alice.projectId, name, definition: { steps: [{ id: "a", type: "set", values: { x: 1 } }] } })
    expect((await workflow("w1")).status).toBe(201)
    expectQuota(await workflow("w2"), "QUOTA_WORKFLOWS_PER_PROJECT")

    const rule = (name: string) =>
      call(alice, "POST", "/observability/alerts", {
        projectId: alice.projectId,
        name,
        metric: "tool_errors_total",
        labels: {},
        aggregation: "increase",
        comparison: "gte",
        threshold: 1_000_000,
        windowSeconds: 60,
        webhookUrl: `http://127.0.0.1:${upstream.port}/hook`
      })
    expect((await rule("r1")).status).toBe(201)
    expectQuota(await rule("r2"), "QUOTA_ALERT_RULES_PER_PROJECT")

    const tool = await call(alice, "POST", "/tools", {
      projectId: alice.projectId,
      name: "ping",
      description: "ping",
      inputSchema: { type: "object", properties: {} },
      url: `http://127.0.0.1:${upstream.port}/ping`
    })
    expect(tool.status).toBe(201)
    expectQuota(
      await call(alice, "POST", "/tools/mcp/register", {
        projectId: alice.projectId,
        name: "remote",
        transport: { type: "http", url: `http://127.0.0.1:${upstream.port}/mcp` }
      }),
      "QUOTA_TOOLS_PER_PROJECT"
    )
  })

  test("SQL connections", async () => {
    for (const name of ["a", "b"]) new Database(`${sqliteDir.dir}/${name}.db`).close()
    const connect = (name: string) =>
      call(alice, "POST", "/sql/connections", { projectId: alice.projectId, name, connectionString: `sqlite:${sqliteDir.dir}/${name}.db` })
    expect((await connect("a")).status).toBe(201)
    expectQuota(await connect("b"), "QUOTA_SQL_CONNECTIONS_PER_PROJECT")
  })

  test("RAG documents", async () => {
    const upload = (text: string) => {
      const form = new FormData()
      form.append("projectId", alice.projectId)
      form.append("file", new Blob([text], { type: "text/plain" }), `${text.slice(0, 8)}.txt`)
      return fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: alice.headers, body: form })
    }
    expect((await upload("Tides rise twice a day.")).status).toBe(202)
    const second = await upload("Winds turn with the seasons.")
    expectQuota({ status: second.status, body: await second.json() }, "QUOTA_DOCUMENTS_PER_PROJECT")
  })
})
