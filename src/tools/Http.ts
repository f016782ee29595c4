import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Layer, Option } from "effect"
import * as path from "node:path"
import { McpSession } from "../../entities/McpSession.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { BadRequest, Conflict, NotFound } from "../kernel/WireErrors.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { BuiltinTools, BuiltinToolsLive } from "./Builtins.ts"
import { checkSchema } from "./JsonSchemaValidator.ts"
import { ToolExecutionFailed } from "../domain/Tool.ts"
import { ToolRegistry } from "./ToolRegistry.ts"
import { type HttpToolRow, type McpServerRow, ToolRepo } from "./ToolRepo.ts"
import { ToolsConfig } from "./ToolsConfig.ts"

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

export const mcpServerView = (row: McpServerRow) => {
  const t = row.config.transport
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    transport: t.type === "stdio"
      ? { type: "stdio" as const, command: t.command, args: t.args, envKeys: Object.keys(t.env) }
      : { type: "http" as const, url: t.url, headerNames: Object.keys(t.headers) },
    status: row.status,
    lastError: row.lastError,
    createdAt: row.createdAt
  }
}

/** Cluster-level failures of a session message (mailbox full, storage) are 502s. */
const sessionUnavailable = (name: string) => (e: { readonly _tag: string }) =>
  Effect.fail(new ToolExecutionFailed({ tool: name, message: `MCP session unavailable (${e._tag})` }))

export const ToolsHttpLive = HttpApiBuilder.group(PlatformApi, "tools", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const repo = yield* ToolRepo
    const builtins = yield* BuiltinTools
    const sessions = yield* McpSession.client
    const settings = yield* ToolsConfig
    const egress = yield* EgressPolicy

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

    const statusOf = (serverId: string) =>
      sessions(serverId).Status().pipe(Effect.catchAll(sessionUnavailable(serverId)))

    return handlers
      .handle("listTools", ({ urlParams }) =>
        Effect.flatMap(scope(urlParams.projectId), (ids) =>
          Effect.map(registry.listTools(ids), (tools) => ({ tools }))))
      .handle("registerHttpTool", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
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
          Effect.map(repo.listMcpServers(ids), (rows) => ({ servers: rows.map(mcpServerView) }))))
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
          return { server: mcpServerView(row), session: status, tools, resources, prompts }
        }))
      .handle("deleteMcpServer", ({ path: { serverId } }) =>
        Effect.gen(function*() {
          const row = yield* visibleServer(serverId, "admin")
          yield* sessions(serverId).Disconnect().pipe(Effect.ignore)
          yield* repo.deleteMcpServer(row.projectId, row.id)
          yield* registry.forgetServer(row.projectId, row.name)
        }))
      .handle("registerMcpServer", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "admin")
          const transport = payload.transport
          if (transport.type === "stdio" && !settings.mcpStdioCommands.includes(path.basename(transport.command))) {
            return yield* new BadRequest({
              message: "this command may not start an MCP server",
              issues: [{
                path: "transport.command",
                message: `allowed commands: ${settings.mcpStdioCommands.join(", ")}`
              }]
            })
          }
          if (transport.type === "http") yield* reachable(transport.url, "transport.url")
          const row = yield* repo.createMcpServer({ projectId: payload.projectId, name: payload.name, transport })
          const session = sessions(row.id)
          // The first connection is attempted now so the caller sees whether the server works.
          const tools = yield* session.ListTools().pipe(
            Effect.map((list) => list.map((t) => t.name)),
            Effect.orElseSucceed(() => [])
          )
          const status = yield* statusOf(row.id)
          const current = yield* repo.findMcpServer(row.id)
          return {
            server: mcpServerView(Option.getOrElse(current, () => row)),
            session: status,
            tools
          }
        }))
  })).pipe(Layer.provide([ToolRepo.Default, BuiltinToolsLive]))
