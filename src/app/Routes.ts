import { HttpApiScalar, HttpLayerRouter, HttpServerRequest, HttpServerResponse, OpenApi } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { AuthenticationLayer, GatewayHttpLive, GatewayServicesLive, RateLimitLive, RequireAuthenticationLive } from "./GatewayLive.ts"
import { EventsSocketRoute } from "../gateway/EventsSocket.ts"
import { A2A_ROUTES } from "../a2a/Routes.ts"
import { A2aRoutes } from "../a2a/Routes.ts"
import { CHAT_SOCKET_PATH, ChatSocketRoute } from "../agents/ChatSocket.ts"
import { AgentsHttpLive } from "../agents/Http.ts"
import { HealthHttpLive } from "../health/Http.ts"
import { ObservabilityHttpLive } from "../observability/Http.ts"
import { MetricsRoute } from "../observability/MetricsRoute.ts"
import { OrchestratorHttpLive } from "../orchestrator/Http.ts"
import { RagHttpLive } from "../rag/Http.ts"
import { SqlToolHttpLive } from "../sql-tool/Http.ts"
import { SystemHttpLive } from "../system/Http.ts"
import { MCP_PATH, MCP_RESOURCE_METADATA_PATHS, PlatformMcpLive } from "../tools/PlatformMcpServer.ts"
import { ToolsHttpLive } from "../tools/Http.ts"
import { WorkflowsHttpLive } from "../workflows/Http.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { requestContextMiddleware } from "../http/Middleware.ts"
import { jsonAccessLog } from "../observability/Logging.ts"
import { routeTable } from "../http/RouteTable.ts"
import { corsOptions } from "../http/Cors.ts"
import { securityHeadersMiddleware } from "../http/SecurityHeaders.ts"
import { CONSOLE_ROUTES, ConsoleRoute } from "./ConsoleRoute.ts"
import { DOCS_GUIDE_ROUTES, DocsGuideRoute } from "./DocsGuideRoute.ts"
import { documentEndpoints } from "../domain/api/OpenApiDocs.ts"
import { RpcRoutes } from "./RpcRoutes.ts"

/** Handler layers of every HttpApi group in `PlatformApi`. */
const ApiHandlers = Layer.mergeAll(HealthHttpLive, AgentsHttpLive, SystemHttpLive, ObservabilityHttpLive, OrchestratorHttpLive, RagHttpLive, WorkflowsHttpLive, SqlToolHttpLive, ToolsHttpLive)

/**
 * The API as documented: summaries, descriptions, examples, the workflow DSL's schema and the
 * guide's link (src/domain/api/OpenApiDocs.ts). Applied here, not in the contract, so the
 * console's bundle (which imports PlatformApi) does not carry the documentation.
 */
const DocumentedApi = PlatformApi.annotate(OpenApi.Transform, documentEndpoints)

const ApiRoutes = HttpLayerRouter.addHttpApi(DocumentedApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(ApiHandlers),
  Layer.provide(GatewayHttpLive),
  // Every group with `.middleware(Authentication)` is served through this one implementation.
  Layer.provide(AuthenticationLayer)
)

const DocsRoute = HttpApiScalar.layerHttpLayerRouter({ api: DocumentedApi, path: "/docs" })

/** The platform as an MCP server (Streamable HTTP), bearer-authenticated like the REST API. */
const McpRoute = PlatformMcpLive.pipe(Layer.provide(GatewayServicesLive))

const extraRoutes = [
  ...A2A_ROUTES,
  { method: "GET", path: CHAT_SOCKET_PATH },
  { method: "GET", path: MCP_PATH },
  { method: "POST", path: MCP_PATH },
  { method: "DELETE", path: MCP_PATH },
  ...MCP_RESOURCE_METADATA_PATHS.map((path) => ({ method: "GET", path })),
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/rpc/ws" },
  { method: "POST", path: "/rpc" },
  { method: "GET", path: "/ws/events" },
  ...CONSOLE_ROUTES,
  ...DOCS_GUIDE_ROUTES
]

const table = routeTable(PlatformApi, extraRoutes)

/** Unknown path → 404 JSON; known path, other method → 405 JSON with `Allow`. */
const FallbackRoute = HttpLayerRouter.use((router) =>
  router.add(
    "*",
    "*",
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?", 1)[0]
      const allowed = table.allowedMethods(path)
      if (allowed.length > 0 && request.method !== "OPTIONS") {
        return HttpServerResponse.setHeader(
          jsonError(405, "MethodNotAllowed", `${request.method} is not allowed on ${path}`, { allowed }),
          "allow",
          allowed.join(", ")
        )
      }
      return jsonError(404, "NotFound", `no route for ${request.method} ${path}`)
    })
  ))

const CorsLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    // One definition with the HTTP fast path's CORS headers (src/http/Cors.ts).
    HttpLayerRouter.cors(corsOptions(config.corsOrigins)))
)

const SecurityHeadersLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => securityHeadersMiddleware(Option.getOrUndefined(config.publicBaseUrl)))
)

/** Real-time events over WebSocket, authenticated by the same gateway services. */
const EventsRoute = EventsSocketRoute.pipe(Layer.provide(GatewayServicesLive))

/** A2A JSON-RPC + cards and the chat WebSocket, authenticated by the gateway services. */
const AgentsRoutes = Layer.mergeAll(A2aRoutes, ChatSocketRoute).pipe(Layer.provide(GatewayServicesLive))

export const AllRoutes = Layer.mergeAll(ApiRoutes, AgentsRoutes, DocsRoute, RpcRoutes, MetricsRoute, EventsRoute, FallbackRoute, McpRoute, ConsoleRoute, DocsGuideRoute).pipe(
  Layer.provide(requestContextMiddleware({
    acceptsMultipart: table.acceptsMultipart,
    // The MCP SDK reads the web request's body stream itself.
    rawBodyPaths: [MCP_PATH]
  }, jsonAccessLog)),
  Layer.provide(RateLimitLive),
  Layer.provide(CorsLive),
  // Outermost: 429s and preflights answered by the layers above get the secure headers too.
  Layer.provide(SecurityHeadersLive)
)
