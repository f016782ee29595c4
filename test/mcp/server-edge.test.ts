import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/**
 * The edge of the platform's MCP server `/mcp` (issue #21): DNS-rebinding
 * protection on Host and Origin, 405 for GET (no server stream on a stateless
 * server), and the RFC 9728 metadata a 401 names, for MCP clients.
 */
let platform: TestPlatform
let user: SignedUp
beforeAll(async () => {
  platform = await startPlatform()
  user = await signUp(platform.baseUrl)
}, 240_000)
afterAll(async () => {
  await platform?.stop()
})

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
})
const post = (headers: Record<string, string>) =>
  fetch(`${platform.baseUrl}/mcp?projectId=${user.projectId}`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: initialize
  })

describe("/mcp edge", () => {
  test("another site's Host or Origin is 403 before credentials are looked at; this server's names pass", async () => {
    const evilHost = await post({ host: "evil.example" })
    expect(evilHost.status).toBe(403)
    expect(((await evilHost.json()) as any).error.message).toContain("Host")
    const evilOrigin = await post({ origin: "http://evil.example" })
    expect(evilOrigin.status).toBe(403)
    expect(((await evilOrigin.json()) as any).error.message).toContain("Origin")
    expect((await post({ origin: platform.baseUrl })).status).toBe(200)
    expect((await post({ host: `localhost:${new URL(platform.baseUrl).port}` })).status).toBe(200)
  })

  test("GET /mcp is 405 with Allow", async () => {
    const res = await fetch(`${platform.baseUrl}/mcp`, { headers: { ...user.headers, accept: "text/event-stream" } })
    expect(res.status).toBe(405)
    expect(res.headers.get("allow")).toBe("POST, DELETE")
  })

  test("a 401 names the protected-resource metadata, which names the resource", async () => {
    const res = await fetch(`${platform.baseUrl}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: initialize })
    expect(res.status).toBe(401)
    const header = res.headers.get("www-authenticate") ?? ""
    const url = /resource_metadata="([^"]+)"/.exec(header)?.[1]
    expect(url).toBe(`${platform.baseUrl}/.well-known/oauth-protected-resource/mcp`)
    for (const path of [new URL(url!).pathname, "/.well-known/oauth-protected-resource"]) {
      const metadata = (await (await fetch(`${platform.baseUrl}${path}`)).json()) as any
      expect(metadata).toMatchObject({ resource: `${platform.baseUrl}/mcp`, bearer_methods_supported: ["header"] })
    }
  })

  test("the MCP SDK client still lists tools (and does not poll a GET stream)", async () => {
    const client = new Client({ name: "edge-test", version: "1" })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${platform.baseUrl}/mcp?projectId=${user.projectId}`), {
      requestInit: { headers: user.headers }
    }))
    try {
      expect(Array.isArray((await client.listTools()).tools)).toBe(true)
    } finally {
      await client.close()
    }
  })
})
