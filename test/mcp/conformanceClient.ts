/**
 * The platform's MCP client (`McpConnection`, what every McpSession entity
 * uses) as a conformance-suite client: `conformance client --command "bun
 * test/mcp/conformanceClient.ts"` appends the test server's URL. It
 * connects, lists tools, calls `add_numbers` when offered, and closes.
 */
import { Effect } from "effect"
import { McpConnection } from "../../src/mcp/McpConnection.ts"

const url = process.argv[process.argv.length - 1]
const program = Effect.gen(function*() {
  const connection = yield* McpConnection.connect({ type: "http", url, headers: {} }, {
    timeoutMs: 10_000,
    onClose: () => undefined,
    onToolsChanged: () => undefined
  })
  const tools = yield* connection.listTools()
  for (const tool of tools) {
    if (tool.name === "add_numbers") yield* connection.callTool(tool.name, { a: 5, b: 3 }, { timeoutMs: 10_000, maxTotalMs: 30_000 })
  }
  yield* connection.close
})
Effect.runPromise(program).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
