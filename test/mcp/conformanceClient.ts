/**
 * The platform's MCP client (`McpConnection` + `McpOAuthProvider`, what every
 * McpSession entity uses) as a conformance-suite client: `conformance client
 * --command "bun test/mcp/conformanceClient.ts"` appends the test server's URL
 * and names the scenario in MCP_CONFORMANCE_SCENARIO (with credentials for
 * pre-registered clients in MCP_CONFORMANCE_CONTEXT). It connects (doing the
 * OAuth flow the server asks for), lists tools, calls each, and closes.
 *
 * The one thing played here rather than by the platform is the user's browser:
 * the platform hands the authorization URL to the user who asked
 * (`POST /tools/mcp/servers/{id}/oauth/authorize`) and exchanges the code the
 * callback brings; the suite's authorization server approves at once, so
 * following its redirect yields the code.
 */
import { Effect } from "effect"
import { McpConnection, type McpRequestError } from "../../src/mcp/McpConnection.ts"
import { authorize, McpOAuthProvider, memoryOAuthStore } from "../../src/mcp/McpOAuth.ts"

const url = process.argv[process.argv.length - 1]
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? ""
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}") as { client_id?: string; client_secret?: string }
const TIMEOUT_MS = 60_000

let code: string | undefined
const provider = new McpOAuthProvider(
  {
    grant: scenario.startsWith("auth/client-credentials") ? "client_credentials" : "authorization_code",
    redirectUrl: "http://localhost:3000/callback",
    ...(context.client_id !== undefined ? { clientId: context.client_id } : {}),
    ...(context.client_secret !== undefined ? { clientSecret: context.client_secret } : {})
  },
  memoryOAuthStore(),
  async (authorizationUrl) => {
    const res = await fetch(authorizationUrl, { redirect: "manual" })
    const location = res.headers.get("location")
    code = location ? new URL(location).searchParams.get("code") ?? undefined : undefined
  }
)

/** Exchanges the code the last redirect brought, then runs `attempt` again (the SDK asks at most once per request). */
const withAuthorization = <A>(attempt: Effect.Effect<A, McpRequestError>) =>
  attempt.pipe(Effect.catchIf(
    (e) => e.reason === "unauthorized" && code !== undefined,
    () =>
      Effect.zipRight(
        authorize(provider, { serverUrl: url, fetch, authorizationCode: code! }).pipe(Effect.tap(() => (code = undefined))),
        attempt
      )
  ))

const program = Effect.gen(function*() {
  const connection = yield* withAuthorization(McpConnection.connect({ type: "http", url, headers: {} }, {
    timeoutMs: TIMEOUT_MS,
    authProvider: provider,
    onClose: () => undefined,
    onToolsChanged: () => undefined
  }))
  const tools = yield* withAuthorization(connection.listTools())
  for (const tool of tools) {
    const args = tool.name === "add_numbers" ? { a: 5, b: 3 } : {}
    yield* withAuthorization(connection.callTool(tool.name, args, { timeoutMs: TIMEOUT_MS, maxTotalMs: TIMEOUT_MS }))
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
