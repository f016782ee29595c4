import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Layer, Option, Schema } from "effect"
import * as path from "node:path"
import { McpSession } from "../../entities/McpSession.ts"
import { hasRole, requireOperator, requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { CurrentUser } from "../domain/Identity.ts"
import { resolveCatalogEntry, undeclaredPlaceholders } from "../mcp/StdioCatalog.ts"
import { type CatalogItem, McpCatalog } from "./McpCatalog.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { BadRequest, Conflict, Forbidden, NotFound } from "../kernel/WireErrors.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { BuiltinTools, BuiltinToolsLive } from "./Builtins.ts"
import { checkSchema } from "./JsonSchemaValidator.ts"
import { ToolExecutionFailed } from "../domain/Tool.ts"
import { ToolRegistry } from "./ToolRegistry.ts"
import { type HttpToolRow, type McpServerRow, ToolRepo } from "./ToolRepo.ts"
import { McpCatalogEntry, type McpOAuthSettings } from "../domain/Mcp.ts"
import { authorize } from "../mcp/McpOAuth.ts"
import { McpOAuthCredentials } from "./McpOAuthCredentials.ts"

const httpToolView = (row: HttpToolRow) => ({
  id: row.id,
  projectId: row.projectId,
  name: row.name,
  description: row.description,
  inputSchema: row.inputSchema,
  url: row.config.url,
  method: row.config.method,
  headerNames: Object.keys(row.config.headers),
  createdAt: row.createdAt
})

/** Where an HTTP server lives, without the path or query (which may carry a token). */
const originOf = (url: string) => {
  try {
    return new URL(url).origin
  } catch {
    return "(invalid url)"
  }
}

/** `detailed`: the project's admins (and operators); other members see what the server is, not how it is configured. */
export const mcpServerView = (row: McpServerRow, detailed: boolean) => {
  const t = row.config.transport
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    transport: t.type === "stdio"
      ? {
        type: "stdio" as const,
        command: path.basename(t.command),
        ...(detailed ? { args: t.args, envKeys: Object.keys(t.env) } : {})
      }
      : t.type === "catalog"
      ? { type: "catalog" as const, entry: t.entry, ...(detailed ? { paramNames: Object.keys(t.params) } : {}) }
      : {
        type: "http" as const,
        ...(detailed ? { url: t.url, headerNames: Object.keys(t.headers) } : { url: originOf(t.url) }),
        ...(t.oauth !== undefined ? { oauth: true } : {})
      },
    status: row.status,
    lastError: row.lastError,
    createdAt: row.createdAt
  }
}

const catalogView = (item: CatalogItem, operator: boolean) => ({
  id: item.entry.id,
  description: item.entry.description,
  params: item.entry.params,
  source: item.source,
  ...(operator ? { command: item.entry.command, args: item.entry.args, envKeys: Object.keys(item.entry.env) } : {})
})

const withoutSecret = ({ clientSecret: _secret, ...rest }: McpOAuthSettings): McpOAuthSettings => rest

/** Cluster-level failures of a session message (mailbox full, storage) are 502s. */
const sessionUnavailable = (name: string) => (e: { readonly _tag: string }) =>
  Effect.fail(new ToolExecutionFailed({ tool: name, message: `MCP session unavailable (${e._tag})` }))

export const ToolsHttpLive = HttpApiBuilder.group(PlatformApi, "tools", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const repo = yield* ToolRepo
    const builtins = yield* BuiltinTools
    const sessions = yield* McpSession.client
    const catalog = yield* McpCatalog
    const egress = yield* EgressPolicy
    const oauth = yield* McpOAuthCredentials

    /** Refused now rather than at the first call, with the policy's one text (no hint of open ports). */
    const reachable = (url: string, field: string) =>
      egress.check(url).pipe(
        Effect.mapError((e) => new BadRequest({ message: e.message, issues: [{ path: field, message: e.message }] }))
      )

    const scope = (projectId: string | undefined) =>
      projectId === undefined
        ? visibleProjectIds
        : Effect.as(requireProjectRole(projectId, "viewer"), [projectId])

    /** A server the caller may see (other tenants' ids are 404 like missing ones). */
    const visibleServer = (serverId: string, minimum: "viewer" | "admin") =>
      repo.findMcpServer(serverId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new NotFound({ message: "MCP server not found" })),
          onSome: (row) => Effect.as(requireProjectRole(row.projectId, minimum, "MCP server"), row)
        }))
      )

    const detailedFor = (projectId: string) =>
      Effect.map(CurrentUser, (user) => user.operator || hasRole(user.projects.get(projectId), "admin"))

    /** The entry exists and the project's values fit its declared parameters (checked again at every connect). */
    const checkCatalogInstance = (entryId: string, params: Readonly<Record<string, string>>) =>
      Effect.gen(function*() {
        const entry = yield* catalog.get(entryId)
        if (Option.isNone(entry)) {
          return yield* new BadRequest({
            message: `no catalog entry ${entryId}`,
            issues: [{ path: "transport.entry", message: "not in the MCP server catalog" }]
          })
        }
        const resolved = resolveCatalogEntry(entry.value, params)
        if (Either.isLeft(resolved)) {
          return yield* new BadRequest({
            message: `invalid catalog parameter ${resolved.left.param}`,
            issues: [{ path: `transport.params.${resolved.left.param}`, message: resolved.left.message }]
          })
        }
      })

    /**
     * Runs the SDK's authorization for a registered OAuth server. `code` absent: may start one
     * (the URL is captured, never followed here: it is for the user's browser).
     */
    const runAuthorization = (row: McpServerRow, code?: string) =>
      Effect.gen(function*() {
        const t = row.config.transport
        if (t.type !== "http" || t.oauth === undefined) {
          return yield* new BadRequest({ message: "this MCP server is not registered with oauth" })
        }
        let authorizationUrl: URL | undefined
        const provider = oauth.provider({ projectId: row.projectId, id: row.id, oauth: t.oauth }, (url) => {
          authorizationUrl = url
        })
        const result = yield* authorize(provider, {
          serverUrl: t.url,
          fetch: egress.fetchFor(row.projectId),
          ...(code !== undefined ? { authorizationCode: code } : {})
        }).pipe(Effect.mapError((e) => new ToolExecutionFailed({ tool: row.name, message: e.message })))
        if (result === "AUTHORIZED") {
          // The session reconnects with the new tokens at its next use.
          yield* sessions(row.id).Disconnect().pipe(Effect.ignore)
          return { serverId: row.id, status: "authorized" as const }
        }
        // Only a web page for a browser: a hostile server's metadata must not hand out javascript: or data: URLs.
        if (authorizationUrl === undefined || !/^https?:$/.test(authorizationUrl.protocol) || provider.lastState === undefined) {
          return yield* new ToolExecutionFailed({ tool: row.name, message: "the authorization server gave no usable authorization URL" })
        }
        const user = yield* CurrentUser
        yield* oauth.beginPending(row.projectId, row.id, user.userId, provider.lastState)
        return { serverId: row.id, status: "pending" as const, authorizationUrl: authorizationUrl.href }
      })

    const statusOf = (serverId: string) =>
      sessions(serverId).Status().pipe(Effect.catchAll(sessionUnavailable(serverId)))

    return handlers
      .handle("listTools", ({ urlParams }) =>
        Effect.flatMap(scope(urlParams.projectId), (ids) =>
          Effect.map(registry.listTools(ids), (tools) => ({ tools }))))
      .handle("registerHttpTool", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          yield* ensureQuota("toolsPerProject", payload.projectId)
          const schemaCheck = checkSchema(payload.inputSchema)
          if (Either.isLeft(schemaCheck)) {
            return yield* new BadRequest({
              message: "inputSchema is not a valid JSON Schema",
              issues: [{ path: "inputSchema", message: schemaCheck.left }]
            })
          }
          if (builtins.has(payload.name)) {
            return yield* new Conflict({ message: `${payload.name} is a built-in tool name` })
          }
          yield* reachable(payload.url, "url")
          const row = yield* repo.createHttpTool({
            projectId: payload.projectId,
            name: payload.name,
            description: payload.description,
            inputSchema: payload.inputSchema,
            config: {
              url: payload.url,
              method: payload.method,
              headers: payload.headers,
              ...(payload.timeoutMs !== undefined ? { timeoutMs: payload.timeoutMs } : {})
            }
          })
          return httpToolView(row)
        }))
      .handle("executeTool", ({ path: { id }, payload }) =>
        Effect.zipRight(
          requireProjectRole(payload.projectId, "developer"),
          registry.call(payload.projectId, id, payload.arguments, {
            ...(payload.timeoutMs !== undefined ? { timeoutMs: payload.timeoutMs } : {})
          })
        ))
      .handle("listMcpServers", ({ urlParams }) =>
        Effect.flatMap(scope(urlParams.projectId), (ids) =>
          Effect.gen(function*() {
            const rows = yield* repo.listMcpServers(ids)
            const user = yield* CurrentUser
            const detailed = (projectId: string) => user.operator || hasRole(user.projects.get(projectId), "admin")
            return { servers: rows.map((row) => mcpServerView(row, detailed(row.projectId))) }
          })))
      .handle("getMcpServer", ({ path: { serverId } }) =>
        Effect.gen(function*() {
          yield* visibleServer(serverId, "viewer")
          const session = sessions(serverId)
          // A server that is down still has a detail page: empty lists and the session's last error.
          const [tools, resources, prompts] = yield* Effect.all([
            session.ListTools().pipe(Effect.orElseSucceed(() => [])),
            session.ListResources().pipe(Effect.orElseSucceed(() => [])),
            session.ListPrompts().pipe(Effect.orElseSucceed(() => []))
          ], { concurrency: 3 })
          const status = yield* statusOf(serverId)
          const row = yield* visibleServer(serverId, "viewer")
          return { server: mcpServerView(row, yield* detailedFor(row.projectId)), session: status, tools, resources, prompts }
        }))
      .handle("deleteMcpServer", ({ path: { serverId } }) =>
        Effect.gen(function*() {
          const row = yield* visibleServer(serverId, "admin")
          yield* sessions(serverId).Disconnect().pipe(Effect.ignore)
          yield* repo.deleteMcpServer(row.projectId, row.id)
          yield* registry.forgetServer(row.projectId, row.name)
        }))
      .handle("listMcpCatalog", () =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const items = yield* catalog.list
          return { entries: items.map((item) => catalogView(item, user.operator)) }
        }))
      .handle("putMcpCatalogEntry", ({ path: { entryId }, payload }) =>
        Effect.gen(function*() {
          yield* requireOperator("publishing a stdio MCP server")
          const user = yield* CurrentUser
          const entry = yield* Schema.decodeUnknown(McpCatalogEntry)({ ...payload, id: entryId }).pipe(
            Effect.mapError(() =>
              new BadRequest({ message: "invalid catalog entry id", issues: [{ path: "entryId", message: "lowercase letters, digits or '-'" }] })
            )
          )
          const undeclared = undeclaredPlaceholders(entry)
          if (undeclared.length > 0) {
            return yield* new BadRequest({
              message: "placeholders must name declared parameters",
              issues: undeclared.map((name) => ({ path: "params", message: `{{${name}}} is not declared` }))
            })
          }
          yield* catalog.put(entry, user.userId)
          yield* Effect.logInfo("MCP catalog entry published").pipe(Effect.annotateLogs({ entry: entry.id, by: user.userId }))
          return catalogView({ entry, source: "operator" }, true)
        }))
      .handle("deleteMcpCatalogEntry", ({ path: { entryId } }) =>
        Effect.gen(function*() {
          yield* requireOperator("removing a stdio MCP server")
          const removed = yield* catalog.remove(entryId)
          if (!removed) return yield* new NotFound({ message: "catalog entry not found" })
        }))
      .handle("authorizeMcpServer", ({ path: { serverId } }) =>
        Effect.flatMap(visibleServer(serverId, "admin"), (row) => runAuthorization(row)))
      .handle("completeMcpOAuth", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const pending = yield* oauth.takePending(payload.state, user.userId)
          if (Option.isNone(pending)) return yield* new NotFound({ message: "no pending authorization for this state" })
          const row = yield* visibleServer(pending.value.serverId, "admin")
          const outcome = yield* runAuthorization(row, payload.code).pipe(
            Effect.catchTag("BadRequest", (e) => Effect.fail(new ToolExecutionFailed({ tool: row.name, message: e.message })))
          )
          yield* Effect.logInfo("MCP server authorized").pipe(Effect.annotateLogs({ serverId: row.id, by: user.userId }))
          return outcome
        }))
      .handle("registerMcpServer", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "admin")
          yield* ensureQuota("toolsPerProject", payload.projectId)
          const transport = payload.transport
          const user = yield* CurrentUser
          // Nothing a tenant sends becomes a command line: stdio servers come from the operators' catalog.
          if (transport.type === "stdio" && !user.operator) {
            return yield* new Forbidden({
              message: "stdio MCP servers are started from the operators' catalog: register { type: \"catalog\", entry }"
            })
          }
          if (transport.type === "catalog") yield* checkCatalogInstance(transport.entry, transport.params)
          if (transport.type === "http") yield* reachable(transport.url, "transport.url")
          const oauthSettings = transport.type === "http" ? transport.oauth : undefined
          // The client secret is sealed with the tokens, never kept in the transport config.
          const stored = transport.type === "http" && oauthSettings?.clientSecret !== undefined
            ? { ...transport, oauth: withoutSecret(oauthSettings) }
            : transport
          const row = yield* repo.createMcpServer({
            projectId: payload.projectId,
            name: payload.name,
            transport: stored,
            ...(transport.type === "stdio" ? { approvedBy: user.userId } : {})
          })
          if (oauthSettings?.clientId !== undefined) {
            yield* oauth.save(row.projectId, row.id, {
              client: {
                client_id: oauthSettings.clientId,
                ...(oauthSettings.clientSecret !== undefined ? { client_secret: oauthSettings.clientSecret } : {})
              }
            })
          }
          const session = sessions(row.id)
          // The first connection is attempted now so the caller sees whether the server works.
          const listed = yield* session.ListTools().pipe(
            Effect.map((list) => list.map((t) => t.name)),
            Effect.either
          )
          const status = yield* statusOf(row.id)
          // An OAuth server that waits for its authorization is kept: the admin authorizes it next.
          if (Either.isLeft(listed) && !status.connected && oauthSettings === undefined) {
            // A server that cannot start is not kept: holding its name would turn the corrected
            // retry into a 409.
            yield* session.Disconnect().pipe(Effect.ignore)
            yield* repo.deleteMcpServer(row.projectId, row.id)
            yield* registry.forgetServer(row.projectId, row.name)
            return yield* new BadRequest({
              message: `MCP server ${payload.name} could not be started, nothing was registered: ${
                (status.lastError ?? "no answer").slice(0, 300)
              }`
            })
          }
          const tools = Either.getOrElse(listed, () => [])
          const current = yield* repo.findMcpServer(row.id)
          return {
            server: mcpServerView(Option.getOrElse(current, () => row), true),
            session: status,
            tools
          }
        }))
  })).pipe(Layer.provide([ToolRepo.Default, McpCatalog.Default, BuiltinToolsLive, McpOAuthCredentials.Default]))
