import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { startAuthorizationServer, startInternalService, startProtectedMcpServer } from "./fixtures/oauthServers.ts"

/**
 * OAuth 2.1 for remote MCP servers (issue #21), end to end through the REST
 * API: a real MCP server (the SDK's) that requires bearer tokens, a local
 * authorization server speaking the OAuth wire format, the platform between
 * them. The test plays the user's browser (it follows the authorization URL
 * and posts what the redirect brought).
 */
const preRegistered = { clientId: "platform-cc", clientSecret: "cc-secret-do-not-leak" }
const as = startAuthorizationServer(preRegistered)
const mcp = startProtectedMcpServer(as.url, as.isValid)
const internal = startInternalService()
// A hostile server: its metadata names an internal address as its authorization server.
const hostile = startProtectedMcpServer(internal.url, () => false)

let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

const call = (method: string, path: string, user: SignedUp, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...user.headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })

const register = (user: SignedUp, name: string, url: string, oauth: Record<string, unknown>) =>
  call("POST", "/tools/mcp/register", user, { projectId: user.projectId, name, transport: { type: "http", url, oauth } })

/** The user's browser: opens the authorization URL; the server approves and redirects with code and state. */
const browse = async (authorizationUrl: string) => {
  const res = await fetch(authorizationUrl, { redirect: "manual" })
  const back = new URL(res.headers.get("location")!)
  return { code: back.searchParams.get("code")!, state: back.searchParams.get("state")! }
}

beforeAll(async () => {
  platform = await startPlatform({
    // The operator admits these local servers by port; the "internal" service is not admitted.
    egress: { allow: [`127.0.0.1:${as.port}`, `127.0.0.1:${mcp.port}`, `127.0.0.1:${hostile.port}`] }
  })
  ;[alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
}, 300_000)

afterAll(async () => {
  await platform?.stop()
  for (const s of [as, mcp, internal, hostile]) s.stop()
}, 60_000)

describe("MCP client: OAuth 2.1 authorization code", () => {
  let serverId: string
  const bodies: Array<string> = []

  test("a server registered with oauth is kept while it waits for its authorization; its tools say how to authorize", async () => {
    const res = await register(alice, "guarded", mcp.url, {})
    const text = await res.text()
    bodies.push(text)
    expect(res.status).toBe(201)
    const body = JSON.parse(text) as { server: { id: string }; session: { connected: boolean } }
    serverId = body.server.id
    expect(body.session.connected).toBe(false)
    const run = await call("POST", "/tools/guarded__secret_number/execute", alice, { projectId: alice.projectId })
    expect(run.status).toBe(502)
    expect(((await run.json()) as { message: string }).message).toContain(`needs an OAuth authorization: POST /tools/mcp/servers/${serverId}/oauth/authorize`)
  }, 120_000)

  test("authorize answers the authorization URL (PKCE S256, state, resource); another user cannot complete it", async () => {
    const res = await call("POST", `/tools/mcp/servers/${serverId}/oauth/authorize`, alice)
    const text = await res.text()
    bodies.push(text)
    expect(res.status).toBe(200)
    const body = JSON.parse(text) as { status: string; authorizationUrl: string }
    expect(body.status).toBe("pending")
    const url = new URL(body.authorizationUrl)
    expect(url.origin).toBe(as.url)
    expect(url.searchParams.get("code_challenge_method")).toBe("S256")
    expect(url.searchParams.get("resource")).toBe(mcp.url)
    expect(url.searchParams.get("state")?.length).toBeGreaterThanOrEqual(43)
    const { code, state } = await browse(body.authorizationUrl)

    // Bob (another tenant) holding the redirect's code and state gets nothing, and does not use it up.
    const stolen = await call("POST", "/tools/mcp/oauth/callback", bob, { code, state })
    expect(stolen.status).toBe(404)

    const done = await call("POST", "/tools/mcp/oauth/callback", alice, { code, state })
    const doneText = await done.text()
    bodies.push(doneText)
    expect(done.status).toBe(200)
    expect(JSON.parse(doneText)).toEqual({ serverId, status: "authorized" })
    expect(as.grants).toContain("authorization_code")

    // Used once.
    const again = await call("POST", "/tools/mcp/oauth/callback", alice, { code, state })
    expect(again.status).toBe(404)
  }, 120_000)

  test("tool calls carry the token; an expired access token is refreshed", async () => {
    const first = await call("POST", "/tools/guarded__secret_number/execute", alice, { projectId: alice.projectId })
    bodies.push(await first.clone().text())
    expect(first.status).toBe(200)
    expect(((await first.json()) as { content: Array<{ text: string }> }).content[0].text).toBe("42")
    expect(mcp.tokensSeen.length).toBeGreaterThan(0)

    as.expireAccessTokens()
    const seen = mcp.tokensSeen.length
    const second = await call("POST", "/tools/guarded__secret_number/execute", alice, { projectId: alice.projectId })
    bodies.push(await second.clone().text())
    expect(second.status).toBe(200)
    expect(as.grants).toContain("refresh_token")
    expect(mcp.tokensSeen.slice(seen).every((t) => !mcp.tokensSeen.slice(0, seen).includes(t))).toBe(true)
  }, 120_000)

  test("tokens are stored sealed and never appear in responses", async () => {
    const detail = await call("GET", `/tools/mcp/servers/${serverId}`, alice)
    bodies.push(await detail.text())
    const rows = await platform.runtime.runPromise(
      (await import("@effect/sql")).SqlClient.SqlClient.pipe(
        (await import("effect")).Effect.flatMap((sql) => sql<{ sealed: string }>`SELECT sealed FROM mcp_oauth_credentials`)
      )
    )
    expect(rows.length).toBeGreaterThan(0)
    for (const token of mcp.tokensSeen) {
      for (const text of bodies) expect(text).not.toContain(token)
      for (const row of rows) expect(row.sealed).not.toContain(token)
    }
    for (const row of rows) expect(row.sealed.startsWith("v2.")).toBe(true)
  }, 120_000)
})

describe("MCP client: OAuth 2.1 client_credentials and egress", () => {
  test("a pre-registered client connects at once; its secret is neither stored in the config nor shown", async () => {
    const res = await register(alice, "machine", mcp.url, { grant: "client_credentials", ...preRegistered })
    const text = await res.text()
    expect(res.status).toBe(201)
    const body = JSON.parse(text) as { server: { id: string }; session: { connected: boolean }; tools: Array<string> }
    expect(body.session.connected).toBe(true)
    expect(body.tools).toEqual(["secret_number"])
    expect(as.grants).toContain("client_credentials")
    expect(text).not.toContain(preRegistered.clientSecret)
    const detail = await (await call("GET", `/tools/mcp/servers/${body.server.id}`, alice)).text()
    expect(detail).not.toContain(preRegistered.clientSecret)
    const configs = await platform.runtime.runPromise(
      (await import("@effect/sql")).SqlClient.SqlClient.pipe(
        (await import("effect")).Effect.flatMap((sql) => sql<{ config: string }>`SELECT config::text AS config FROM tool_instances`)
      )
    )
    for (const row of configs) expect(row.config).not.toContain(preRegistered.clientSecret)
  }, 120_000)

  test("a server whose metadata names an internal authorization server: refused by the egress policy, never fetched", async () => {
    const res = await register(alice, "hostile", hostile.url, {})
    expect(res.status).toBe(201)
    const { server } = (await res.json()) as { server: { id: string } }
    const auth = await call("POST", `/tools/mcp/servers/${server.id}/oauth/authorize`, alice)
    expect(auth.status).toBe(502)
    expect(((await auth.json()) as { message: string }).message).toContain("OAuth authorization failed")
    expect(internal.hits()).toBe(0)
  }, 120_000)

  test("only the project's admins may start an authorization", async () => {
    const list = (await (await call("GET", `/tools/mcp/servers?projectId=${alice.projectId}`, alice)).json()) as {
      servers: Array<{ id: string; name: string }>
    }
    const guarded = list.servers.find((s) => s.name === "guarded")!
    const res = await call("POST", `/tools/mcp/servers/${guarded.id}/oauth/authorize`, bob)
    expect(res.status).toBe(404)
  }, 120_000)
})
