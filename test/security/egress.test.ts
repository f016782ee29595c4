import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import type { AddressInfo } from "node:net"
import { createServer } from "node:net"
import { EGRESS_REFUSED } from "../../src/net/EgressPolicy.ts"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import { type RemoteAgent, startRemoteAgent } from "../orchestrator/remoteAgent.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * Issue #16, part A: every outbound request and connection a tenant can aim
 * goes through one egress policy. The platform runs with an operator
 * allow-list that admits exactly two loopback ports (a helper server and a
 * remote A2A agent) and PostgreSQL; every other loopback destination, in
 * every spelling, is refused before anything is sent, with one text.
 */

/** Counts every request, so a test can prove nothing reached it. */
const countingServer = (handler: (req: Request) => Response = () => Response.json({ ok: true })) => {
  const seen: Array<{ path: string; host: string | null; method: string; body: string }> = []
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      seen.push({ path: new URL(req.url).pathname, host: req.headers.get("host"), method: req.method, body: await req.text() })
      return handler(req)
    }
  })
  return { server, port: server.port as number, seen }
}

/** A loopback port on which nothing listens. */
const closedPort = async () => {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

let target: ReturnType<typeof countingServer>
let allowed: ReturnType<typeof countingServer>
let remote: RemoteAgent
let closed: number
let platform: TestPlatform
let alice: SignedUp

/** Every spelling of "this machine" that must be refused (the target's port is not admitted). */
const spellings = (port: number) => [
  `http://127.0.0.1:${port}`,
  `http://2130706433:${port}`,
  `http://0x7f000001:${port}`,
  `http://0177.0.0.1:${port}`,
  `http://127.1:${port}`,
  `http://0.0.0.0:${port}`,
  `http://localhost:${port}`,
  `http://[::1]:${port}`,
  `http://[::ffff:127.0.0.1]:${port}`
]

beforeAll(async () => {
  target = countingServer()
  allowed = countingServer((req) => {
    const path = new URL(req.url).pathname
    if (path === "/to-file") return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } })
    if (path === "/to-loopback") return new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${target.port}/stolen` } })
    if (path === "/to-numeric") return new Response(null, { status: 307, headers: { location: `http://2130706433:${target.port}/stolen` } })
    if (path === "/card-to-loopback") {
      return Response.json({
        name: "Sneaky",
        description: "points its endpoint at an internal port",
        version: "1.0.0",
        supportedInterfaces: [{ url: `http://127.0.0.1:${target.port}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" }],
        capabilities: {},
        defaultInputModes: ["text/plain"],
        defaultOutputModes: ["text/plain"],
        skills: [{ id: "s", name: "s", description: "s", tags: [] }]
      })
    }
    return Response.json({ ok: true, host: req.headers.get("host") })
  })
  remote = await startRemoteAgent({ name: "Echo" })
  closed = await closedPort()
  platform = await startPlatform({
    egress: {
      allow: [
        `127.0.0.1:${allowed.port}`,
        `127.0.0.1:${new URL(remote.baseUrl).port}`,
        // Admitted but closed: its failure must read like a refusal.
        `127.0.0.1:${closed}`,
        "127.0.0.1:5432"
      ]
    },
    // The tools' and workflows' own host lists admit everything: the egress policy alone decides here.
    tools: { ...Effect.runSync(ToolsConfig.config), httpFetchAllow: ["*"] },
    workflows: { httpAllow: ["*"] }
  })
  alice = await signUp(platform.baseUrl)
}, 180_000)

afterAll(async () => {
  await platform?.stop()
  target?.server.stop(true)
  allowed?.server.stop(true)
  await remote?.close()
})

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...alice.headers, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.text()
  return { status: res.status, text, body: text === "" ? null : JSON.parse(text) }
}

const httpFetch = (url: string) =>
  call("POST", "/tools/http_fetch/execute", { projectId: alice.projectId, arguments: { url } })

describe("egress policy on a real platform", () => {
  test("http_fetch: every spelling of loopback is refused with the generic text; nothing arrives", async () => {
    for (const base of [...spellings(target.port), `http://127.0.0.1:${platform.baseUrl.split(":").pop()}`]) {
      const res = await httpFetch(`${base}/metrics`)
      expect(res.status).toBe(502)
      expect(res.body.message).toBe(`request failed: ${EGRESS_REFUSED}`)
    }
    expect(target.seen).toHaveLength(0)
  })

  test("a closed port and an open refused port give the same text", async () => {
    const open = await httpFetch(`http://127.0.0.1:${target.port}/`)
    const admittedButClosed = await httpFetch(`http://127.0.0.1:${closed}/`)
    const notAdmittedClosed = await httpFetch(`http://127.0.0.1:${(await closedPort())}/`)
    expect(admittedButClosed.status).toBe(open.status)
    expect(admittedButClosed.body.message).toBe(open.body.message)
    expect(notAdmittedClosed.body.message).toBe(open.body.message)
    expect(target.seen).toHaveLength(0)
  })

  test("redirects from an admitted host to file:// or to loopback are refused", async () => {
    // http_fetch: its own list (http/https only) answers file:// first; the policy answers loopback.
    const toFile = await httpFetch(`http://127.0.0.1:${allowed.port}/to-file`)
    expect(toFile.status).toBe(200)
    expect(toFile.body).toMatchObject({ isError: true, content: [{ text: "refused: file: is not in the allow-list" }] })
    for (const path of ["/to-loopback", "/to-numeric"]) {
      const res = await httpFetch(`http://127.0.0.1:${allowed.port}${path}`)
      expect(res.status).toBe(502)
      expect(res.body.message).toBe(`request failed: ${EGRESS_REFUSED}`)
    }
    // A user-defined HTTP tool has no list of its own: the egress policy alone refuses every hop.
    for (const path of ["/to-file", "/to-loopback", "/to-numeric"]) {
      const name = `redirect${path.replaceAll(/\W/g, "_")}`
      const registered = await call("POST", "/tools", { projectId: alice.projectId, name, inputSchema: { type: "object" }, url: `http://127.0.0.1:${allowed.port}${path}`, method: "POST" })
      expect(registered.status).toBe(201)
      const res = await call("POST", `/tools/${name}/execute`, { projectId: alice.projectId, arguments: {} })
      expect(res.status).toBe(502)
      expect(res.text).not.toContain("root:")
      expect(res.body.message).toBe(`request failed: ${EGRESS_REFUSED}`)
    }
    expect(target.seen).toHaveLength(0)
  })

  test("an admitted destination works, reached at the checked address with its own Host header", async () => {
    const res = await httpFetch(`http://localhost:${allowed.port}/hello`)
    expect(res.status).toBe(200)
    expect(res.body.isError).toBe(false)
    expect(allowed.seen.at(-1)).toMatchObject({ path: "/hello", host: `localhost:${allowed.port}` })
  })

  test("HTTP tools: a loopback URL is refused when registered (400); a redirect to loopback fails at the call", async () => {
    const register = (name: string, url: string) =>
      call("POST", "/tools", { projectId: alice.projectId, name, inputSchema: { type: "object" }, url, method: "POST" })
    let i = 0
    for (const base of spellings(target.port)) {
      const res = await register(`t${i++}`, `${base}/x`)
      expect(res.status).toBe(400)
      expect(res.body.message).toBe(EGRESS_REFUSED)
    }
    expect((await register("fileurl", "file:///etc/passwd")).status).toBe(400)
    expect((await register("redirector", `http://127.0.0.1:${allowed.port}/to-loopback`)).status).toBe(201)
    const executed = await call("POST", "/tools/redirector/execute", { projectId: alice.projectId, arguments: {} })
    expect(executed.status).toBe(502)
    expect(executed.body.message).toBe(`request failed: ${EGRESS_REFUSED}`)
    expect((await register("fine", `http://127.0.0.1:${allowed.port}/tool`)).status).toBe(201)
    const fine = await call("POST", "/tools/fine/execute", { projectId: alice.projectId, arguments: { a: 1 } })
    expect(fine.status).toBe(200)
    expect(allowed.seen.at(-1)).toMatchObject({ path: "/tool", method: "POST", body: JSON.stringify({ a: 1 }) })
    expect(target.seen).toHaveLength(0)
  })

  test("MCP over Streamable HTTP: a loopback URL is refused at registration (400)", async () => {
    for (const base of spellings(target.port)) {
      const res = await call("POST", "/tools/mcp/register", {
        projectId: alice.projectId,
        name: `mcp-${crypto.randomUUID().slice(0, 6)}`,
        transport: { type: "http", url: `${base}/mcp`, headers: {} }
      })
      expect(res.status).toBe(400)
      expect(res.body.message).toBe(EGRESS_REFUSED)
    }
    expect(target.seen).toHaveLength(0)
  })

  test("alert webhooks: a loopback URL is refused when the rule is saved (400); an admitted one is accepted", async () => {
    const rule = (webhookUrl: string) => ({
      projectId: alice.projectId,
      name: "r",
      metric: "http_server_requests_total",
      labels: {},
      aggregation: "increase",
      comparison: "gte",
      threshold: 1_000_000,
      windowSeconds: 60,
      webhookUrl
    })
    for (const base of spellings(target.port)) {
      const res = await call("POST", "/observability/alerts", rule(`${base}/hook`))
      expect(res.status).toBe(400)
      expect(res.body.message).toBe(EGRESS_REFUSED)
    }
    const ok = await call("POST", "/observability/alerts", rule(`http://127.0.0.1:${allowed.port}/hook`))
    expect(ok.status).toBe(201)
    expect((await call("PATCH", `/observability/alerts/${ok.body.id}`, { webhookUrl: `http://127.1:${target.port}/hook` })).status).toBe(400)
  })

  test("orchestrator: card URLs and card endpoints on loopback are refused (422); an admitted agent registers", async () => {
    for (const base of spellings(target.port)) {
      const res = await call("POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: `${base}/.well-known/agent-card.json` })
      expect(res.status).toBe(422)
      expect(res.body.message).toBe(`agent card could not be fetched: ${EGRESS_REFUSED}`)
    }
    const sneaky = await call("POST", "/orchestrator/register", {
      projectId: alice.projectId,
      cardUrl: `http://127.0.0.1:${allowed.port}/card-to-loopback`
    })
    expect(sneaky.status).toBe(422)
    expect(sneaky.body.message).toBe(`agent card endpoint: ${EGRESS_REFUSED}`)
    const ok = await call("POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: remote.cardUrl })
    expect(ok.status).toBe(201)
    expect(target.seen).toHaveLength(0)
  })

  test("SQL connections: loopback hosts not admitted are refused (400) in every spelling; an admitted one connects", async () => {
    const hosts = ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "0.0.0.0", "localhost", "[::1]", "[::ffff:127.0.0.1]"]
    for (const [i, host] of hosts.entries()) {
      for (const url of [`mysql://root@${host}:3306/mysql`, `postgres://postgres@${host}:5433/postgres`]) {
        const res = await call("POST", "/sql/connections", { projectId: alice.projectId, name: `c${i}-${url.slice(0, 5)}`, connectionString: url })
        expect(res.status).toBe(400)
        expect(res.body.message).toBe(EGRESS_REFUSED)
      }
    }
    // Admitted but closed: the same text (as a 503) instead of "connection refused".
    const dead = await call("POST", "/sql/connections", {
      projectId: alice.projectId,
      name: "dead",
      connectionString: `postgres://postgres@127.0.0.1:${closed}/postgres`,
      verify: true
    })
    expect(dead.status).toBe(503)
    expect(dead.body.message).toBe(`could not connect to the database: ${EGRESS_REFUSED}`)
    const ok = await call("POST", "/sql/connections", {
      projectId: alice.projectId,
      name: "local-pg",
      connectionString: "postgres://postgres@localhost:5432/postgres",
      verify: true
    })
    expect(ok.status).toBe(201)
    const rows = await call("POST", "/sql/execute", { connectionId: ok.body.id, sql: "SELECT 1 AS one" })
    expect(rows.status).toBe(200)
    expect(rows.body.rows).toEqual([{ one: 1 }])
  })

  test("workflow http steps: loopback is refused with the generic text, not retried; an admitted host works", async () => {
    const run = async (url: string) => {
      const started = await call("POST", "/workflows/execute", {
        projectId: alice.projectId,
        definition: { steps: [{ id: "call", type: "http", url, retry: { maxAttempts: 3, initialDelayMs: 10 } }] }
      })
      expect(started.status).toBe(202)
      let last: Record<string, any> = {}
      await waitFor(async () => {
        last = (await call("GET", `/workflows/runs/${started.body.id}`)).body
        return ["completed", "failed"].includes(last.status)
      }, 30_000)
      return last
    }
    for (const base of [`http://127.0.0.1:${target.port}`, `http://0x7f000001:${target.port}`, `http://[::ffff:127.0.0.1]:${target.port}`]) {
      const failed = await run(`${base}/wf`)
      expect(failed.status).toBe("failed")
      expect(failed.error).toContain(EGRESS_REFUSED)
      expect(failed.error).toContain("1 attempt")
    }
    const done = await run(`http://127.0.0.1:${allowed.port}/wf`)
    expect(done.status).toBe("completed")
    expect(allowed.seen.some((s) => s.path === "/wf")).toBe(true)
    expect(target.seen).toHaveLength(0)
  })

  test("A2A push notifications: loopback URLs are refused (-32602) before a task starts; an admitted URL gets the task", async () => {
    const agent = await call("POST", "/agents", { projectId: alice.projectId, name: "Pusher", description: "local model" })
    expect(agent.status).toBe(201)
    const send = (url: string) =>
      call("POST", `/agents/${agent.body.id}/a2a`, {
        jsonrpc: "2.0",
        id: 1,
        method: "SendMessage",
        params: {
          message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: "hello" }] },
          configuration: { taskPushNotificationConfig: { url, token: "push-token" } }
        }
      })
    for (const base of spellings(target.port)) {
      const res = await send(`${base}/push`)
      expect(res.status).toBe(200)
      expect(res.body.error).toMatchObject({ code: -32602, message: `Invalid params: push notification url: ${EGRESS_REFUSED}` })
    }
    // Refused before the task was submitted: no run exists yet.
    expect((await call("GET", `/agents/${agent.body.id}/runs`)).body).toEqual([])
    const ok = await send(`http://127.0.0.1:${allowed.port}/push`)
    expect(ok.body.error).toBeUndefined()
    await waitFor(async () => allowed.seen.some((s) => s.path === "/push"), 20_000)
    // The refused deliveries were attempted before the admitted one: give stragglers a moment anyway.
    await Bun.sleep(300)
    expect(target.seen).toHaveLength(0)
  })
})
