import { Effect, Either, Layer, Option } from "effect"
import { McpSession } from "../../entities/McpSession.ts"
import { BuiltinTools, BuiltinToolsLive } from "./Builtins.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { httpCall } from "./HttpCall.ts"
import { describeIssues, validateArguments } from "./JsonSchemaValidator.ts"
import {
  type ToolCallOptions,
  ToolCatalog,
  ToolExecutionFailed,
  ToolInvalidArguments,
  ToolNotFound,
  type ToolResult,
  type ToolSpec,
  ToolTimeout
} from "../domain/Tool.ts"
import { type McpServerRow, ToolRepo } from "./ToolRepo.ts"
import { ToolsConfig } from "./ToolsConfig.ts"

/** `<server>__<tool>`: MCP tools are namespaced by their server's name in the registry. */
export const MCP_SEPARATOR = "__"

export interface RegisteredTool extends ToolSpec {
  readonly projectId: string
  /** The registry row of an HTTP tool; the server's id for an MCP tool; the name for a built-in. */
  readonly id: string
  readonly serverId?: string
}

/** How long a server's name → id resolution is reused on the call path (a DB query otherwise). */
const SERVER_CACHE_MS = 5_000

/**
 * The tool registry: merges the project's MCP servers' tools (live, from
 * their `McpSession` entities), its registered HTTP tools and the built-ins,
 * and executes any of them with arguments validated against the tool's JSON
 * Schema. The `ToolCatalog` contract is this service seen from agents and
 * workflows.
 */
export class ToolRegistry extends Effect.Service<ToolRegistry>()("Tools/ToolRegistry", {
  effect: Effect.gen(function*() {
    const repo = yield* ToolRepo
    const builtins = yield* BuiltinTools
    const sessions = yield* McpSession.client
    const settings = yield* ToolsConfig
    const egress = yield* EgressPolicy
    const listBudgetMs = settings.mcpConnectTimeoutMs + 5_000

    const serverCache = new Map<string, { readonly row: McpServerRow; readonly at: number }>()

    const serverByName = (projectId: string, name: string) =>
      Effect.suspend(() => {
        const key = `${projectId}\u0000${name}`
        const hit = serverCache.get(key)
        if (hit !== undefined && Date.now() - hit.at < SERVER_CACHE_MS) return Effect.succeed(Option.some(hit.row))
        return repo.findMcpServerByName(projectId, name).pipe(
          Effect.tap(Option.match({
            onNone: () => Effect.sync(() => serverCache.delete(key)),
            onSome: (row) => Effect.sync(() => serverCache.set(key, { row, at: Date.now() }))
          }))
        )
      })

    const forgetServer = (projectId: string, name: string) =>
      Effect.sync(() => serverCache.delete(`${projectId}\u0000${name}`))

    /** Cluster-level failures (mailbox full, storage) are execution failures to the caller. */
    const clusterFailure = (tool: string) => (e: { readonly _tag: string }) =>
      Effect.fail(new ToolExecutionFailed({ tool, message: `MCP session unavailable (${e._tag})` }))

    const mcpTools = (server: McpServerRow) =>
      sessions(server.id).ListTools().pipe(
        Effect.timeoutFail({
          duration: listBudgetMs,
          onTimeout: () => new ToolExecutionFailed({ tool: server.name, message: "listing tools timed out" })
        }),
        Effect.catchTags({
          MailboxFull: clusterFailure(server.name),
          AlreadyProcessingMessage: clusterFailure(server.name),
          PersistenceError: clusterFailure(server.name)
        }),
        Effect.map((tools) =>
          tools.map((t): RegisteredTool => ({
            name: `${server.name}${MCP_SEPARATOR}${t.name}`,
            description: t.description,
            inputSchema: t.inputSchema,
            source: "mcp",
            projectId: server.projectId,
            id: `${server.name}${MCP_SEPARATOR}${t.name}`,
            serverId: server.id
          }))
        ),
        // One unreachable server must not hide every other tool of the project.
        Effect.catchAll((e) =>
          Effect.as(
            Effect.logWarning("MCP server skipped while listing tools").pipe(
              Effect.annotateLogs({ serverId: server.id, reason: e.message })
            ),
            []
          )
        )
      )

    const listTools = (projectIds: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const [http, servers] = yield* Effect.all([repo.listHttpTools(projectIds), repo.listMcpServers(projectIds)], {
          concurrency: 2
        })
        const fromMcp = yield* Effect.forEach(servers, mcpTools, { concurrency: 8 })
        const result: Array<RegisteredTool> = []
        for (const projectId of projectIds) {
          for (const b of builtins.values()) result.push({ ...b.spec, projectId, id: b.spec.name })
        }
        for (const t of http) {
          result.push({
            name: t.name,
            description: t.description,
            inputSchema: t.inputSchema,
            source: "http",
            projectId: t.projectId,
            id: t.id
          })
        }
        for (const list of fromMcp) result.push(...list)
        return result
      })

    const validated = (tool: string, schema: Record<string, unknown>, args: unknown) => {
      const checked = validateArguments(schema, args)
      return Either.isRight(checked)
        ? Effect.succeed(checked.right as Record<string, unknown>)
        : Effect.fail(new ToolInvalidArguments({ tool, message: describeIssues(tool, checked.left), issues: checked.left }))
    }

    const notFound = (tool: string) => new ToolNotFound({ tool, message: `no tool named ${tool} in this project` })

    const callMcp = (projectId: string, name: string, args: unknown, timeoutMs: number) =>
      Effect.gen(function*() {
        const at = name.indexOf(MCP_SEPARATOR)
        const serverName = name.slice(0, at)
        const toolName = name.slice(at + MCP_SEPARATOR.length)
        const server = yield* serverByName(projectId, serverName)
        if (Option.isNone(server)) return yield* notFound(name)
        return yield* sessions(server.value.id).CallTool({ name: toolName, arguments: args, timeoutMs }).pipe(
          Effect.catchTags({
            MailboxFull: clusterFailure(name),
            AlreadyProcessingMessage: clusterFailure(name),
            PersistenceError: clusterFailure(name),
            // Errors name the tool as the caller knows it (server-qualified).
            ToolNotFound: () => Effect.fail(notFound(name)),
            // `message` is not an own enumerable field of an error: spread would lose it.
            ToolInvalidArguments: (e) =>
              Effect.fail(new ToolInvalidArguments({ tool: name, message: e.message, issues: e.issues })),
            ToolTimeout: (e) => Effect.fail(new ToolTimeout({ tool: name, message: e.message, timeoutMs: e.timeoutMs })),
            ToolExecutionFailed: (e) => Effect.fail(new ToolExecutionFailed({ tool: name, message: e.message }))
          })
        )
      })

    /** Executes a tool by name (or, for HTTP tools, by id) inside one project. */
    const call = (projectId: string, name: string, args: unknown, options?: ToolCallOptions) =>
      Effect.gen(function*() {
        const timeoutMs = Math.min(options?.timeoutMs ?? settings.callTimeoutMs, settings.maxCallMs)
        const builtin = builtins.get(name)
        if (builtin !== undefined) {
          const valid = yield* validated(name, builtin.spec.inputSchema, args)
          return yield* builtin.run(projectId, valid, timeoutMs)
        }
        if (name.includes(MCP_SEPARATOR)) return yield* callMcp(projectId, name, args, timeoutMs)
        const http = yield* repo.findHttpTool(projectId, name)
        if (Option.isNone(http)) return yield* notFound(name)
        const tool = http.value
        const valid = yield* validated(tool.name, tool.inputSchema, args)
        const query = tool.config.method === "GET"
          ? `?${new URLSearchParams(Object.entries(valid).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]))}`
          : ""
        return yield* httpCall({
          tool: tool.name,
          projectId,
          url: `${tool.config.url}${query}`,
          method: tool.config.method,
          headers: { "content-type": "application/json", ...tool.config.headers },
          ...(tool.config.method === "GET" ? {} : { body: JSON.stringify(valid) }),
          timeoutMs: Math.min(timeoutMs, tool.config.timeoutMs ?? timeoutMs),
          maxBytes: settings.httpMaxResponseBytes
        }).pipe(Effect.provideService(EgressPolicy, egress))
      }).pipe(
        Effect.withSpan("ToolRegistry.call", {
          attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "project.id": projectId }
        })
      ) as Effect.Effect<ToolResult, ToolNotFound | ToolInvalidArguments | ToolExecutionFailed | ToolTimeout>

    return { listTools, call, serverByName, forgetServer } as const
  }),
  dependencies: [ToolRepo.Default, BuiltinToolsLive]
}) {}

/** The `ToolCatalog` contract (agents, workflows) served by the registry. */
export const ToolCatalogLive = Layer.effect(
  ToolCatalog,
  Effect.map(ToolRegistry, (registry) =>
    ToolCatalog.of({
      list: (projectId) => Effect.map(registry.listTools([projectId]), (tools) =>
        tools.map(({ description, inputSchema, name, source }) => ({ name, description, inputSchema, source }))),
      call: registry.call
    }))
)
