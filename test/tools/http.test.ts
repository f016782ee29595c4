import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import { isAlive, referenceServer, startEverythingHttp } from "../mcp/support.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

// Real MCP server processes and argon2 sign-ups on a shared machine.
setDefaultTimeout(30_000)

const SECRET_ENV = "env-secret-value-7d1f"
const SECRET_HEADER = "header-secret-value-93ab"

const everythingEntry = {
  id: "everything",
  description: "MCP reference server (everything)",
  command: "bun",
  args: [referenceServer.everything, "stdio"],
  env: { API_TOKEN: "{{token}}" },
  params: [{ name: "token", description: "passed to the server as API_TOKEN", required: false }]
}

/** A local HTTP service standing in for a registered HTTP tool and an http_fetch target. */
const received: Array<{ path: string; body: string; auth: string | null }> = []
const upstream = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: async (req) => {
    const url = new URL(req.url)
    received.push({ path: url.pathname + url.search, body: await req.text(), auth: req.headers.get("x-api-key") })
    if (url.pathname === "/redirect") return Response.redirect("http://127.0.0.2:9/elsewhere", 302)
    if (url.pathname === "/weather") {
      const args = JSON.parse(received[received.length - 1].body)
      return Response.json({ city: args.city, celsius: 21 })
    }
    return new Response("plain text page", { headers: { "content-type": "text/plain" } })
  }
})
const upstreamUrl = `http://127.0.0.1:${upstream.port}`

let platform: TestPlatform
let remote: Awaited<ReturnType<typeof startEverythingHttp>>
let alice: SignedUp
let bob: SignedUp
let viewer: SignedUp

const call = (method: string, path: string, user: SignedUp | null, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(user ? user.headers : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })

const execute = (user: SignedUp, tool: string, args: unknown, projectId = user.projectId) =>
  call("POST", `/tools/${encodeURIComponent(tool)}/execute`, user, { projectId, arguments: args })

beforeAll(async () => {
  remote = await startEverythingHttp()
  platform = await startPlatform({
    // Local test servers: the operator allow-list admits loopback, as an operator would.
    egress: { allow: ["127.0.0.1"] },
    tools: {
      ...Effect.runSync(ToolsConfig.config),
      httpFetchAllow: [`127.0.0.1:${upstream.port}`],
      // The operator's catalog: projects instantiate these by id, never send a command line.
      mcpStdioCatalog: [everythingEntry]
    }
  })
  ;[alice, bob, viewer] = await Promise.all([
    signUp(platform.baseUrl),
    signUp(platform.baseUrl),
    signUp(platform.baseUrl)
  ])
  const added = await call("POST", `/projects/${alice.projectId}/members`, alice, { email: viewer.email, role: "viewer" })
  if (added.status !== 201) throw new Error(`adding the viewer failed: ${added.status}`)
}, 120_000)

afterAll(async () => {
  await platform?.stop()
  await remote?.stop()
  upstream.stop(true)
})

describe("MCP servers through the tools API", () => {
  let serverId = ""

  test("registering a stdio server from the catalog connects it; parameter values are never returned", async () => {
    const res = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "everything",
      transport: { type: "catalog", entry: "everything", params: { token: SECRET_ENV } }
    })
    const text = await res.text()
    expect(res.status).toBe(201)
    expect(text).not.toContain(SECRET_ENV)
    const body = JSON.parse(text)
    serverId = body.server.id
    expect(body.session.connected).toBe(true)
    expect(body.server.transport).toEqual({ type: "catalog", entry: "everything", paramNames: ["token"] })
    expect(body.tools).toEqual(expect.arrayContaining(["echo", "get-sum"]))
    const listed = await (await call("GET", `/tools/mcp/servers?projectId=${alice.projectId}`, alice)).text()
    expect(listed).toContain(serverId)
    expect(listed).not.toContain(SECRET_ENV)
    expect(JSON.parse(listed).servers[0].status).toBe("connected")
  })

  test("GET /tools merges MCP tools (server-qualified) with built-ins", async () => {
    const { tools } = await (await call("GET", `/tools?projectId=${alice.projectId}`, alice)).json()
    const names = tools.map((t: { name: string }) => t.name)
    expect(names).toEqual(expect.arrayContaining(["everything__echo", "everything__get-sum", "http_fetch", "rag_search", "sql_query"]))
    expect(tools.find((t: { name: string }) => t.name === "everything__get-sum").inputSchema.required).toEqual(["a", "b"])
  })

  test("execute: result, invalid arguments → 400 naming the field, unknown tool → 404", async () => {
    const ok = await execute(alice, "everything__get-sum", { a: 2, b: 40 })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ content: [{ type: "text", text: "The sum of 2 and 40 is 42." }], isError: false })
    const bad = await execute(alice, "everything__get-sum", { a: 2 })
    expect(bad.status).toBe(400)
    const badBody = await bad.json()
    expect(badBody._tag).toBe("ToolInvalidArguments")
    expect(badBody.issues).toEqual([{ path: "b", message: "is required" }])
    const missing = await execute(alice, "everything__nope", {})
    expect(missing.status).toBe(404)
    expect((await missing.json())._tag).toBe("ToolNotFound")
  })

  test("the server's detail shows its session, tools, resources and prompts", async () => {
    const detail = await (await call("GET", `/tools/mcp/servers/${serverId}`, alice)).json()
    expect(detail.session).toMatchObject({ connected: true, serverInfo: { name: expect.stringContaining("everything") } })
    expect(detail.tools.length).toBeGreaterThan(5)
    expect(detail.resources.length).toBeGreaterThan(0)
    expect(detail.prompts.length).toBeGreaterThan(0)
  })

  test("a killed server process fails the call clearly (502); the next call reconnects", async () => {
    const before = (await (await call("GET", `/tools/mcp/servers/${serverId}`, alice)).json()).session
    const pending = execute(alice, "everything__trigger-long-running-operation", { duration: 20, steps: 20 })
    await waitFor(async () => (await (await call("GET", `/tools/mcp/servers/${serverId}`, alice)).json()).session.inFlight === 1, 10_000)
    process.kill(before.pid, "SIGKILL")
    const failed = await pending
    expect(failed.status).toBe(502)
    const failure = await failed.json()
    expect(failure._tag).toBe("ToolExecutionFailed")
    expect(failure.tool).toBe("everything__trigger-long-running-operation")
    const again = await execute(alice, "everything__echo", { message: "still here" })
    expect(again.status).toBe(200)
    expect((await again.json()).content[0].text).toContain("still here")
  })

  test("a hung tool answers 504 after the caller's timeout", async () => {
    const res = await call("POST", "/tools/everything__trigger-long-running-operation/execute", alice, {
      projectId: alice.projectId,
      arguments: { duration: 5, steps: 1 },
      timeoutMs: 400
    })
    expect(res.status).toBe(504)
    expect((await res.json())._tag).toBe("ToolTimeout")
  })

  test("Streamable HTTP servers register with headers that are never returned", async () => {
    const res = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "remote",
      transport: { type: "http", url: remote.url, headers: { "x-api-key": SECRET_HEADER } }
    })
    const text = await res.text()
    expect(res.status).toBe(201)
    expect(text).not.toContain(SECRET_HEADER)
    expect(JSON.parse(text).server.transport.headerNames).toEqual(["x-api-key"])
    const r = await execute(alice, "remote__echo", { message: "via http" })
    expect((await r.json()).content[0].text).toContain("via http")
  })

  test("a server that cannot be reached is not registered (400), so the corrected retry under the same name succeeds", async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response("gone", { status: 404 }) })
    const deadUrl = `http://127.0.0.1:${closed.port}/mcp`
    closed.stop(true)
    const failed = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "retry-me",
      transport: { type: "http", url: deadUrl, headers: {} }
    })
    expect(failed.status).toBe(400)
    const body = await failed.json()
    expect(body.message).toContain("retry-me could not be started, nothing was registered")
    const { servers } = await (await call("GET", `/tools/mcp/servers?projectId=${alice.projectId}`, alice)).json()
    expect(servers.map((s: { name: string }) => s.name)).not.toContain("retry-me")
    const retried = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "retry-me",
      transport: { type: "http", url: remote.url, headers: {} }
    })
    expect(retried.status).toBe(201)
    expect((await retried.json()).session.connected).toBe(true)
  }, 60_000)

  test("a project supplies no command line (403); unknown catalog entries and bad parameters are 400; duplicates conflict", async () => {
    const res = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "shell",
      transport: { type: "stdio", command: "/bin/sh", args: ["-c", "id"] }
    })
    expect(res.status).toBe(403)
    const unknown = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "nope",
      transport: { type: "catalog", entry: "not-published" }
    })
    expect(unknown.status).toBe(400)
    expect((await unknown.json()).issues[0].path).toBe("transport.entry")
    const flag = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "flagged",
      transport: { type: "catalog", entry: "everything", params: { token: "--inspect=0.0.0.0:9229" } }
    })
    expect(flag.status).toBe(400)
    expect((await flag.json()).issues[0].path).toBe("transport.params.token")
    const dup = await call("POST", "/tools/mcp/register", alice, {
      projectId: alice.projectId,
      name: "everything",
      transport: { type: "catalog", entry: "everything" }
    })
    expect(dup.status).toBe(409)
  })

  test("tenancy: other projects' tools and servers are 404; a viewer can list but not execute", async () => {
    expect((await call("GET", `/tools?projectId=${alice.projectId}`, bob)).status).toBe(404)
    expect((await execute(bob, "everything__echo", { message: "x" }, alice.projectId)).status).toBe(404)
    expect((await call("GET", `/tools/mcp/servers/${serverId}`, bob)).status).toBe(404)
    expect((await call("GET", `/tools?projectId=${alice.projectId}`, viewer)).status).toBe(200)
    // A viewer sees which servers exist, not their arguments, env keys, parameters or header names.
    const { servers } = await (await call("GET", `/tools/mcp/servers?projectId=${alice.projectId}`, viewer)).json()
    expect(servers.find((s: { name: string }) => s.name === "everything").transport).toEqual({ type: "catalog", entry: "everything" })
    expect(servers.find((s: { name: string }) => s.name === "remote").transport).toEqual({ type: "http", url: new URL(remote.url).origin })
    expect((await execute(viewer, "everything__echo", { message: "x" }, alice.projectId)).status).toBe(403)
    expect((await call("GET", "/tools", null)).status).toBe(401)
  })

  test("deleting a server stops its process and removes its tools", async () => {
    const pid = (await (await call("GET", `/tools/mcp/servers/${serverId}`, alice)).json()).session.pid
    expect((await call("DELETE", `/tools/mcp/servers/${serverId}`, alice)).status).toBe(204)
    await waitFor(() => !isAlive(pid), 10_000)
    const { tools } = await (await call("GET", `/tools?projectId=${alice.projectId}`, alice)).json()
    expect(tools.some((t: { name: string }) => t.name.startsWith("everything__"))).toBe(false)
  })
})

describe("HTTP tools and built-ins", () => {
  test("a registered HTTP tool gets validated JSON arguments and its secret header", async () => {
    const res = await call("POST", "/tools", alice, {
      projectId: alice.projectId,
      name: "weather",
      description: "Current weather",
      inputSchema: {
        type: "object",
        properties: { city: { type: "string" }, unit_system: { type: "string", enum: ["metric", "imperial"] } },
        required: ["city"]
      },
      url: `${upstreamUrl}/weather`,
      headers: { "x-api-key": SECRET_HEADER }
    })
    expect(res.status).toBe(201)
    const tool = await res.json()
    expect(JSON.stringify(tool)).not.toContain(SECRET_HEADER)
    // Stored JSON comes back verbatim (no snake→camel rewriting of schema keys).
    const { tools } = await (await call("GET", `/tools?projectId=${alice.projectId}`, alice)).json()
    const listed = tools.find((t: { name: string }) => t.name === "weather")
    expect(Object.keys(listed.inputSchema.properties)).toEqual(["city", "unit_system"])
    const ok = await execute(alice, tool.id, { city: "Oslo" })
    expect(await ok.json()).toMatchObject({ structuredContent: { city: "Oslo", celsius: 21 }, isError: false })
    expect(received.at(-1)).toMatchObject({ path: "/weather", auth: SECRET_HEADER })
    const bad = await execute(alice, "weather", { city: 7 })
    expect(bad.status).toBe(400)
    expect((await bad.json()).issues[0].path).toBe("city")
  })

  test("an HTTP tool's input schema must be a JSON Schema", async () => {
    const res = await call("POST", "/tools", alice, {
      projectId: alice.projectId,
      name: "broken",
      inputSchema: { type: "no-such-type" },
      url: `${upstreamUrl}/x`
    })
    expect(res.status).toBe(400)
    expect((await res.json()).issues[0].path).toBe("inputSchema")
  })

  test("sql_query answers a model-readable error for an unknown connection", async () => {
    const res = await execute(alice, "sql_query", { connection: "nope", sql: "SELECT 1" })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.isError).toBe(true)
    expect(body.content[0].text).toContain("NotFound")
  })

  test("http_fetch reaches allow-listed hosts only, also across redirects", async () => {
    const ok = await execute(alice, "http_fetch", { url: `${upstreamUrl}/page` })
    expect(await ok.json()).toEqual({ content: [{ type: "text", text: "plain text page" }], isError: false })
    const denied = await (await execute(alice, "http_fetch", { url: "http://127.0.0.2:9/secret" })).json()
    expect(denied.isError).toBe(true)
    expect(denied.content[0].text).toContain("not in the allow-list")
    const redirected = await (await execute(alice, "http_fetch", { url: `${upstreamUrl}/redirect` })).json()
    expect(redirected.isError).toBe(true)
    const noUrl = await execute(alice, "http_fetch", {})
    expect(noUrl.status).toBe(400)
  })
})

describe("the platform as an MCP server (/mcp)", () => {
  const connect = async (user: SignedUp | null) => {
    const client = new Client({ name: "test", version: "1" })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${platform.baseUrl}/mcp?projectId=${alice.projectId}`), {
      requestInit: { headers: user ? user.headers : {} }
    }))
    return client
  }

  test("lists and calls the project's tools over Streamable HTTP with a bearer token", async () => {
    const client = await connect(alice)
    try {
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["remote__get-sum", "weather", "http_fetch"]))
      const sum = await client.callTool({ name: "remote__get-sum", arguments: { a: 20, b: 22 } })
      expect(sum.content).toEqual([{ type: "text", text: "The sum of 20 and 22 is 42." }])
      const invalid = await client.callTool({ name: "remote__get-sum", arguments: { a: 1 } })
      expect(invalid.isError).toBe(true)
      await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toThrow(/Unknown tool/)
    } finally {
      await client.close()
    }
  })

  test("unauthenticated → 401; a viewer can list but not call; a non-member gets 404", async () => {
    await expect(connect(null)).rejects.toThrow()
    const raw = await fetch(`${platform.baseUrl}/mcp`, { method: "POST", body: "{}" })
    expect(raw.status).toBe(401)
    expect(raw.headers.get("www-authenticate")).toContain("Bearer")
    const client = await connect(viewer)
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0)
      const denied = await client.callTool({ name: "remote__echo", arguments: { message: "x" } })
      expect(denied.isError).toBe(true)
    } finally {
      await client.close()
    }
    await expect(connect(bob)).rejects.toThrow()
  })
})
