import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { afterAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { McpConnection } from "../../src/mcp/McpConnection.ts"

/**
 * The platform's MCP client declares roots and answers `roots/list` with an
 * empty list (issue #21): a project has no platform filesystem to offer, and a
 * server that asks learns that instead of getting "method not found". Sampling
 * is not declared, so a server that asks anyway is refused.
 */
let capabilities: unknown
const mcp = new McpServer({ name: "asks-roots", version: "1.0.0" })
mcp.registerTool("count_roots", { description: "lists the client's roots" }, async () => {
  capabilities = mcp.server.getClientCapabilities()
  const { roots } = await mcp.server.listRoots()
  return { content: [{ type: "text", text: `roots=${roots.length}` }] }
})
mcp.registerTool("sample", { description: "asks the client's model" }, async () => {
  try {
    await mcp.server.createMessage({ messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 10 })
    return { content: [{ type: "text", text: "sampled" }] }
  } catch (e) {
    return { content: [{ type: "text", text: `refused: ${e instanceof Error ? e.message : String(e)}` }], isError: true }
  }
})
// Stateful (a session): the server's requests to the client need one.
const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID() })
await mcp.connect(transport)
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => transport.handleRequest(req) })
afterAll(() => server.stop(true))

describe("MCP client: roots and sampling", () => {
  test("roots declared, roots/list answers an empty list; sampling is not declared and a request for it is refused", async () => {
    const [roots, sampled] = await Effect.runPromise(Effect.gen(function*() {
      const connection = yield* McpConnection.connect({ type: "http", url: `http://127.0.0.1:${server.port}/mcp`, headers: {} }, {
        timeoutMs: 10_000,
        onClose: () => undefined,
        onToolsChanged: () => undefined
      })
      const options = { timeoutMs: 10_000, maxTotalMs: 20_000 }
      const results = [yield* connection.callTool("count_roots", {}, options), yield* connection.callTool("sample", {}, options)]
      yield* connection.close
      return results
    }))
    expect(capabilities).toMatchObject({ roots: { listChanged: false } })
    expect((capabilities as Record<string, unknown>).sampling).toBeUndefined()
    expect(JSON.stringify(roots)).toContain("roots=0")
    expect(sampled.isError).toBe(true)
    expect(JSON.stringify(sampled)).toContain("refused")
  }, 30_000)
})
