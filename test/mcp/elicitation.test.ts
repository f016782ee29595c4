import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { afterAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { McpConnection } from "../../src/mcp/McpConnection.ts"

/**
 * The platform's MCP client declares elicitation and answers it by policy
 * (issue #21): a tool call runs for an agent with no person attached, so a
 * server's request for input is declined, and the call goes on.
 */
let capabilities: unknown
// One stateful server (a session): the client's capabilities are known from its initialize.
const mcp = new McpServer({ name: "asks", version: "1.0.0" })
mcp.registerTool("ask_name", { description: "asks the user for a name" }, async () => {
  capabilities = mcp.server.getClientCapabilities()
  const answer = await mcp.server.elicitInput({
    message: "Your name?",
    requestedSchema: { type: "object", properties: { name: { type: "string", default: "someone" } } }
  })
  return { content: [{ type: "text", text: `action=${answer.action}` }] }
})
const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID() })
await mcp.connect(transport)
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => transport.handleRequest(req) })
afterAll(() => server.stop(true))

describe("MCP client: elicitation", () => {
  test("declared as a capability; a server's elicitation request is declined and the tool call completes", async () => {
    const result = await Effect.runPromise(Effect.gen(function*() {
      const connection = yield* McpConnection.connect({ type: "http", url: `http://127.0.0.1:${server.port}/mcp`, headers: {} }, {
        timeoutMs: 10_000,
        onClose: () => undefined,
        onToolsChanged: () => undefined
      })
      const called = yield* connection.callTool("ask_name", {}, { timeoutMs: 10_000, maxTotalMs: 20_000 })
      yield* connection.close
      return called
    }))
    expect(capabilities).toMatchObject({ elicitation: {} })
    expect(JSON.stringify(result)).toContain("action=decline")
  }, 30_000)
})
