import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Config, Effect, Either, Layer, Option, Runtime } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { AgentRepo } from "../agents/AgentRepo.ts"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import type { Principal, Role } from "../domain/Identity.ts"
import { hasRole } from "../auth/ProjectAccess.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { bodyProblemMessage, jsonTextProblem } from "../kernel/JsonText.ts"
import type { ToolContent, ToolResult } from "../domain/Tool.ts"
import { ToolRegistry } from "./ToolRegistry.ts"
import { type McpServerSdk, mcpServerSdk } from "../mcp/McpSdk.ts"
import * as Fixtures from "./McpConformanceFixtures.ts"

export const MCP_PATH = "/mcp"
/** RFC 9728 protected-resource metadata: the root form and the form suffixed with the resource's path. */
export const MCP_RESOURCE_METADATA_PATHS = ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] as const

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"]

/** The host name of a Host header value or URL authority, lower-cased, without the port. */
const hostNameOf = (authority: string) => {
  try {
    return new URL(`http://${authority}`).hostname.toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * DNS-rebinding protection (MCP Streamable HTTP transport, security warning):
 * a page on another site that gets its name resolved to this server must not
 * reach `/mcp` with the user's browser. The Host must be one of this server's
 * names (loopback, PUBLIC_BASE_URL's, HTTP_HOST's, MCP_ALLOWED_HOSTS); an
 * Origin, when sent, must be one of them too or listed in CORS_ORIGINS.
 */
const hostGuard = (allowedHosts: ReadonlySet<string>, anyHost: boolean, corsOrigins: ReadonlyArray<string>) =>
  (request: HttpServerRequest.HttpServerRequest): string | undefined => {
    if (anyHost) return undefined
    const host = hostNameOf(request.headers.host ?? "")
    if (host === undefined || !allowedHosts.has(host)) return "Invalid Host header"
    const origin = request.headers.origin
    if (origin === undefined) return undefined
    if (corsOrigins.includes(origin)) return undefined
    const originHost = URL.canParse(origin) ? new URL(origin).hostname.toLowerCase() : undefined
    return originHost !== undefined && allowedHosts.has(originHost) ? undefined : "Invalid Origin header"
  }

const SERVER_INFO = { name: "agent-platform", version: "0.1.0" } as const

/** The platform's `ToolContent` back to MCP content blocks. */
const toMcpContent = (block: ToolContent) => {
  switch (block.type) {
    case "text":
      return { type: "text" as const, text: block.text }
    case "image":
      return { type: "image" as const, data: block.data, mimeType: block.mimeType }
    case "resource_link":
      return { type: "resource_link" as const, uri: block.uri, name: block.name ?? block.uri, ...(block.mimeType ? { mimeType: block.mimeType } : {}) }
    case "resource":
      return {
        type: "resource" as const,
        resource: { uri: block.uri, text: block.text ?? "", ...(block.mimeType ? { mimeType: block.mimeType } : {}) }
      }
  }
}

const toMcpResult = (result: ToolResult) => ({
  content: result.content.map(toMcpContent),
  ...(result.structuredContent !== undefined && typeof result.structuredContent === "object" && result.structuredContent !== null
    ? { structuredContent: result.structuredContent as Record<string, unknown> }
    : {}),
  isError: result.isError
})

const toolFailure = (message: string) => ({ content: [{ type: "text" as const, text: message }], isError: true })

/**
 * The project a request acts in: `?projectId=`, else `x-project-id`, else the
 * caller's only project. Ambiguity is an error, not a guess.
 */
const projectOf = (request: HttpServerRequest.HttpServerRequest, principal: Principal): Either.Either<string, string> => {
  const query = request.url.indexOf("?")
  const fromQuery = query >= 0 ? new URLSearchParams(request.url.slice(query + 1)).get("projectId") : null
  const chosen = fromQuery ?? request.headers["x-project-id"]
  if (chosen) return Either.right(chosen)
  const projects = [...principal.projects.keys()]
  return projects.length === 1 ? Either.right(projects[0]) : Either.left("choose a project with ?projectId= or the x-project-id header")
}

/**
 * The platform as an MCP server over Streamable HTTP at `/mcp`: the
 * project's tools (its MCP servers' tools, HTTP tools, built-ins) as MCP
 * tools, its agents as resources. Bearer-authenticated like the REST API;
 * listing needs membership, calling needs the developer role.
 *
 * Stateless (one SDK server per request, JSON responses, no session id): any
 * node can answer any request, so it scales with the gateway. The price is no
 * server-to-client streaming (progress, sampling) on this endpoint.
 */
export const PlatformMcpRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const authenticator = yield* Authenticator
    const agents = yield* AgentRepo
    const runtime = yield* Effect.runtime<never>()
    const app = yield* AppConfig
    const extraHosts = yield* Config.array(Config.string(), "MCP_ALLOWED_HOSTS").pipe(Config.withDefault([]), Effect.orDie)
    const publicBase = Option.flatMap(app.publicBaseUrl, (u) => Option.liftThrowable(() => new URL(u))())
    const allowedHosts = new Set([
      ...LOOPBACK_NAMES,
      ...(app.httpHost === "0.0.0.0" || app.httpHost === "::" ? [] : [app.httpHost.toLowerCase()]),
      ...Option.toArray(Option.map(publicBase, (u) => u.hostname.toLowerCase())),
      ...extraHosts.map((h) => h.trim().toLowerCase()).filter((h) => h !== "")
    ])
    const guard = hostGuard(allowedHosts, extraHosts.some((h) => h.trim() === "*"), app.corsOrigins)
    const fixtures = yield* Fixtures.conformanceFixturesEnabled
    /** Where the resource and its metadata live: PUBLIC_BASE_URL, else the (already checked) Host. */
    const baseOf = (request: HttpServerRequest.HttpServerRequest) =>
      Option.match(publicBase, {
        onSome: (u) => u.origin,
        onNone: () => `${request.headers["x-forwarded-proto"] === "https" ? "https" : "http"}://${request.headers.host ?? "localhost"}`
      })
    const forbidden = (reason: string) =>
      HttpServerResponse.unsafeJson({ jsonrpc: "2.0", id: null, error: { code: -32000, message: `Forbidden: ${reason}` } }, { status: 403 })
    const runPromise = <A, E>(effect: Effect.Effect<A, E>, signal?: AbortSignal) =>
      Runtime.runPromise(runtime)(effect, signal ? { signal } : undefined)

    const makeServer = (sdk: McpServerSdk, projectId: string, role: Role) => {
      const {
        CallToolRequestSchema,
        ErrorCode,
        ListResourcesRequestSchema,
        ListToolsRequestSchema,
        McpError,
        ReadResourceRequestSchema,
        Server
      } = sdk
      const server = new Server(SERVER_INFO, {
        capabilities: fixtures ? { tools: {}, resources: {}, prompts: {}, completions: {}, logging: {} } : { tools: {}, resources: {} }
      })
      server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
        const tools = await runPromise(registry.listTools([projectId]), extra.signal)
        return {
          tools: [
            ...tools.map((t) => ({ name: t.name, description: t.description, inputSchema: mcpInputSchema(t.inputSchema) })),
            ...(fixtures ? Fixtures.fixtureTools : [])
          ]
        }
      })
      server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
        if (!hasRole(role, "developer")) return toolFailure("calling tools requires the developer role in this project")
        const fixture = fixtures
          ? await Fixtures.callFixtureTool(req.params.name, req.params.arguments ?? {}, {
            progressToken: req.params._meta?.progressToken,
            notify: (n) => extra.sendNotification(n as Parameters<typeof extra.sendNotification>[0])
          })
          : undefined
        if (fixture !== undefined) return fixture
        const outcome = await runPromise(
          Effect.either(registry.call(projectId, req.params.name, req.params.arguments ?? {})),
          extra.signal
        )
        if (Either.isRight(outcome)) return toMcpResult(outcome.right)
        const error = outcome.left
        // Unknown tool is a protocol error; everything else is a tool error the model can read and act on.
        if (error._tag === "ToolNotFound") throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`)
        return toolFailure(error.message)
      })
      server.setRequestHandler(ListResourcesRequestSchema, async (_req, extra) => {
        const list = await runPromise(agents.list([projectId]), extra.signal)
        return {
          resources: [
            ...list.map((a) => ({
              uri: `agent://${a.id}`,
              name: a.name,
              description: a.description,
              mimeType: "application/json"
            })),
            ...(fixtures ? Fixtures.fixtureResources : [])
          ]
        }
      })
      server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
        const fixture = fixtures ? Fixtures.readFixtureResource(req.params.uri) : undefined
        if (fixture !== undefined) return fixture
        const id = req.params.uri.startsWith("agent://") ? req.params.uri.slice("agent://".length) : ""
        const found = await runPromise(agents.find(id, [projectId]), extra.signal)
        if (found._tag === "None") throw new McpError(ErrorCode.InvalidParams, `Resource not found: ${req.params.uri}`)
        const a = found.value
        const card = { id: a.id, name: a.name, description: a.description, provider: a.provider, model: a.model }
        return { contents: [{ uri: req.params.uri, mimeType: "application/json", text: JSON.stringify(card) }] }
      })
      if (fixtures) {
        server.setRequestHandler(sdk.ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [...Fixtures.fixtureResourceTemplates] }))
        server.setRequestHandler(sdk.ListPromptsRequestSchema, async () => ({ prompts: [...Fixtures.fixturePrompts] }))
        server.setRequestHandler(sdk.GetPromptRequestSchema, async (req) => {
          const prompt = Fixtures.getFixturePrompt(req.params.name, req.params.arguments ?? {})
          if (prompt === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${req.params.name}`)
          return prompt
        })
        server.setRequestHandler(sdk.CompleteRequestSchema, async () => ({ completion: { values: [], hasMore: false } }))
        server.setRequestHandler(sdk.SetLevelRequestSchema, async () => ({}))
      }
      return server
    }

    const handle = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      // Checked before credentials: a rebinding page learns nothing, not even whether a token works.
      const refused = guard(request)
      if (refused !== undefined) return forbidden(refused)
      const principal = yield* Effect.either(authenticator.authenticate(credentialsFrom(request)))
      if (Either.isLeft(principal)) {
        // Names the protected-resource metadata (RFC 9728 §5.1), where MCP clients look for how to authenticate.
        return HttpServerResponse.setHeader(
          jsonError(401, "Unauthorized", principal.left.message),
          "www-authenticate",
          `Bearer resource_metadata="${baseOf(request)}${MCP_RESOURCE_METADATA_PATHS[1]}"`
        )
      }
      const project = projectOf(request, principal.right)
      if (Either.isLeft(project)) return jsonError(400, "BadRequest", project.left)
      const role = principal.right.projects.get(project.right)
      // Not a member: the project does not exist for this caller.
      if (role === undefined) return jsonError(404, "NotFound", "project not found")
      const original = yield* HttpServerRequest.toWeb(request)
      // The edge's body guard leaves this route's body to the SDK (it reads the stream): the same
      // check here, on the text, which is handed on in a new request.
      const body = request.method === "POST"
        ? yield* Effect.orElseSucceed(Effect.tryPromise(() => original.text()), () => "")
        : undefined
      const problem = body === undefined ? undefined : jsonTextProblem(body)
      if (problem !== undefined) return jsonError(400, "BadRequest", bodyProblemMessage(problem))
      const web = body === undefined ? original : new Request(original.url, { method: original.method, headers: original.headers, body })
      const sdk = yield* mcpServerSdk
      const server = makeServer(sdk, project.right, role)
      const transport = new sdk.WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
      return yield* Effect.acquireUseRelease(
        Effect.promise(() => server.connect(transport)),
        () => Effect.promise(() => transport.handleRequest(web)),
        () => Effect.promise(() => server.close())
      ).pipe(Effect.map(HttpServerResponse.fromWeb))
    }).pipe(Effect.catchTag("RequestError", () => Effect.succeed(jsonError(400, "BadRequest", "unreadable request"))))

    /**
     * RFC 9728 metadata of the `/mcp` resource. The platform issues its own
     * bearer tokens (JWTs from /auth/login, project API keys) and runs no
     * OAuth authorization server, so none is listed: clients learn the
     * resource, the header method and where the credentials come from.
     */
    const resourceMetadata = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const refused = guard(request)
      if (refused !== undefined) return forbidden(refused)
      const base = baseOf(request)
      return HttpServerResponse.unsafeJson({
        resource: `${base}${MCP_PATH}`,
        resource_name: "Agent Platform MCP server",
        bearer_methods_supported: ["header"],
        resource_documentation: `${base}/docs`
      })
    })

    yield* router.add("POST", MCP_PATH, handle)
    // Stateless server: no server-to-client stream to hold open, so GET is 405 (Streamable HTTP
    // transport: "the server MUST ... return HTTP 405") rather than an event stream that ends at
    // once, which idle SDK clients re-open about once a second.
    yield* router.add("GET", MCP_PATH, Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
      const refused = guard(request)
      return refused !== undefined
        ? forbidden(refused)
        : HttpServerResponse.setHeader(jsonError(405, "MethodNotAllowed", "GET /mcp: this server opens no SSE stream"), "allow", "POST, DELETE")
    }))
    yield* router.add("DELETE", MCP_PATH, handle)
    for (const path of MCP_RESOURCE_METADATA_PATHS) yield* router.add("GET", path, resourceMetadata)
  })
)

/** `/mcp` with its dependencies; needs the registry and the gateway's `Authenticator`. */
export const PlatformMcpLive = PlatformMcpRoute.pipe(Layer.provide(AgentRepo.Default))

/**
 * MCP clients validate every listed schema strictly (`required` must be an array). In the full
 * test run one tool's `required` reached this point as a non-array object (root cause not yet
 * found, see the closing note of stop 12): keep the listing valid for clients instead of failing
 * the whole tools/list, taking the values of an array-like object.
 */
const mcpInputSchema = (schema: Record<string, unknown>): { type: "object"; [k: string]: unknown } => {
  const required = schema.required
  const fixed = required === undefined || Array.isArray(required)
    ? schema
    : { ...schema, required: typeof required === "object" && required !== null ? Object.values(required) : [] }
  return { ...fixed, type: "object" }
}
