import { SqlClient, SqlError } from "@effect/sql"
import { Either, Effect, Layer, Option, Schema } from "effect"
import { McpRegisteredTransport, type McpTransportConfig } from "../domain/Mcp.ts"
import { Conflict } from "../kernel/WireErrors.ts"
import { type McpServerDefinition, McpServerSource, McpServerUnavailable } from "../mcp/McpServerSource.ts"
import { resolveCatalogEntry } from "../mcp/StdioCatalog.ts"
import { McpCatalog } from "./McpCatalog.ts"

/** A registered HTTP tool: arguments are sent as JSON to a fixed URL. */
export const HttpToolConfig = Schema.Struct({
  url: Schema.String,
  method: Schema.Literal("GET", "POST", "PUT"),
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  timeoutMs: Schema.optional(Schema.Int)
})
export type HttpToolConfig = typeof HttpToolConfig.Type

const HttpToolRow = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  inputSchema: Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  config: Schema.parseJson(HttpToolConfig),
  createdAt: Schema.DateFromSelf
})
export type HttpToolRow = typeof HttpToolRow.Type

const McpServerRow = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  config: Schema.parseJson(Schema.Struct({
    transport: McpRegisteredTransport,
    /** Set only when a platform operator registered a raw stdio command line. */
    approvedBy: Schema.optional(Schema.String)
  })),
  status: Schema.String,
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf
})
export type McpServerRow = typeof McpServerRow.Type

const isUniqueViolation = (e: SqlError.SqlError) => {
  const cause = e.cause as { code?: unknown } | undefined
  return cause?.code === "23505"
}

/**
 * SQL of the Tools service: registered HTTP tools (`tools`, kind 'http') and
 * MCP servers (`tool_instances`, kind 'mcp'). Every read a caller can reach
 * is scoped by project ids; the by-id lookup is for the McpSession entity.
 * Secrets (env, headers) live in `config` and are only read back here.
 */
export class ToolRepo extends Effect.Service<ToolRepo>()("Tools/ToolRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decodeTool = Schema.decodeUnknown(HttpToolRow)
    const decodeServer = Schema.decodeUnknown(McpServerRow)
    // JSON columns are read as text: the client's snake→camel result transform would
    // otherwise rewrite keys inside them (env names, schema property names).
    const toolColumns = sql`id, project_id, name, description, input_schema::text AS input_schema, config::text AS config, created_at`
    const serverColumns = sql`id, project_id, name, config::text AS config, status, last_error, created_at`

    const conflictOr = (what: string) => (e: SqlError.SqlError) =>
      isUniqueViolation(e) ? Effect.fail(new Conflict({ message: `${what} already exists in this project` })) : Effect.die(e)

    const createHttpTool = (input: {
      readonly projectId: string
      readonly name: string
      readonly description: string
      readonly inputSchema: Record<string, unknown>
      readonly config: HttpToolConfig
    }) =>
      sql`
        INSERT INTO tools (id, project_id, name, description, kind, input_schema, config)
        VALUES (${`tool_${crypto.randomUUID()}`}, ${input.projectId}, ${input.name}, ${input.description}, 'http',
                ${JSON.stringify(input.inputSchema)}::jsonb, ${JSON.stringify(input.config)}::jsonb)
        RETURNING ${toolColumns}`.pipe(
        Effect.catchAll(conflictOr(`a tool named ${input.name}`)),
        Effect.flatMap((rows) => Effect.orDie(decodeTool(rows[0])))
      )

    const listHttpTools = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0 ? Effect.succeed([]) : sql`
        SELECT ${toolColumns} FROM tools
        WHERE kind = 'http' AND ${sql.in("project_id", projectIds)}
        ORDER BY project_id, name`.pipe(
        Effect.flatMap(Effect.forEach((row) => decodeTool(row))),
        Effect.orDie
      )

    /** By id or by name, inside one project. */
    const findHttpTool = (projectId: string, idOrName: string) =>
      sql`
        SELECT ${toolColumns} FROM tools
        WHERE kind = 'http' AND project_id = ${projectId} AND (id = ${idOrName} OR name = ${idOrName})
        LIMIT 1`.pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeTool(rows[0]))),
        Effect.orDie
      )

    const createMcpServer = (input: {
      readonly projectId: string
      readonly name: string
      readonly transport: McpRegisteredTransport
      readonly approvedBy?: string | undefined
    }) =>
      sql`
        INSERT INTO tool_instances (id, project_id, name, kind, config, status)
        VALUES (${`mcp_${crypto.randomUUID()}`}, ${input.projectId}, ${input.name}, 'mcp',
                ${JSON.stringify({ transport: input.transport, approvedBy: input.approvedBy })}::jsonb, 'registered')
        RETURNING ${serverColumns}`.pipe(
        Effect.catchAll(conflictOr(`an MCP server named ${input.name}`)),
        Effect.flatMap((rows) => Effect.orDie(decodeServer(rows[0])))
      )

    const listMcpServers = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0 ? Effect.succeed([]) : sql`
        SELECT ${serverColumns} FROM tool_instances
        WHERE kind = 'mcp' AND ${sql.in("project_id", projectIds)}
        ORDER BY project_id, name`.pipe(
        Effect.flatMap(Effect.forEach((row) => decodeServer(row))),
        Effect.orDie
      )

    const findMcpServerByName = (projectId: string, name: string) =>
      sql`
        SELECT ${serverColumns} FROM tool_instances
        WHERE kind = 'mcp' AND project_id = ${projectId} AND name = ${name}`.pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeServer(rows[0]))),
        Effect.orDie
      )

    const findMcpServer = (id: string) =>
      sql`SELECT ${serverColumns} FROM tool_instances WHERE kind = 'mcp' AND id = ${id}`.pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeServer(rows[0]))),
        Effect.orDie
      )

    const reportMcpStatus = (id: string, status: string, lastError: string | null) =>
      sql`
        UPDATE tool_instances SET status = ${status}, last_error = ${lastError}, updated_at = now()
        WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    const deleteMcpServer = (projectId: string, id: string) =>
      sql`DELETE FROM tool_instances WHERE kind = 'mcp' AND project_id = ${projectId} AND id = ${id} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    return {
      createHttpTool,
      listHttpTools,
      findHttpTool,
      createMcpServer,
      listMcpServers,
      findMcpServerByName,
      findMcpServer,
      reportMcpStatus,
      deleteMcpServer
    } as const
  })
}) {}

/**
 * What a stored server runs: HTTP as registered; a catalog instance resolved
 * against the operator's current entry; a raw command line only when an
 * operator registered it (rows from before the catalog are not started).
 */
const runnable = (catalog: McpCatalog, row: McpServerRow): Effect.Effect<Either.Either<McpTransportConfig, string>> => {
  const t = row.config.transport
  switch (t.type) {
    case "http":
      return Effect.succeed(Either.right(t))
    case "stdio":
      return Effect.succeed(
        row.config.approvedBy !== undefined
          ? Either.right(t)
          : Either.left("a stdio command line not approved by a platform operator; re-register it from the catalog")
      )
    case "catalog":
      return Effect.map(catalog.get(t.entry), Option.match({
        onNone: () => Either.left(`catalog entry ${t.entry} no longer exists`),
        onSome: (entry) =>
          Either.map(
            Either.mapLeft(resolveCatalogEntry(entry, t.params), (e) => `catalog parameter ${e.param} ${e.message}`),
            (resolved): McpTransportConfig => ({ ...resolved, args: [...resolved.args], ...(t.sampling !== undefined ? { sampling: t.sampling } : {}) })
          )
      }))
  }
}

/** The McpSession entity's view of the registry: definitions by id, status write-back. */
export const McpServerSourceLive = Layer.effect(
  McpServerSource,
  Effect.gen(function*() {
    const repo = yield* ToolRepo
    const catalog = yield* McpCatalog
    return McpServerSource.of({
      get: (id) =>
        repo.findMcpServer(id).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.succeedNone,
            onSome: (row) =>
              Effect.flatMap(runnable(catalog, row), Either.match({
                onLeft: (reason) =>
                  Effect.zipRight(
                    Effect.logWarning("MCP server not started").pipe(Effect.annotateLogs({ serverId: id, reason })),
                    Effect.fail(new McpServerUnavailable({ message: `MCP server '${row.name}' is not started: ${reason}` }))
                  ),
                onRight: (transport) =>
                  Effect.succeed(Option.some<McpServerDefinition>({ id: row.id, projectId: row.projectId, name: row.name, transport }))
              }))
          }))
        ),
      report: (id, status, lastError) => Effect.ignore(repo.reportMcpStatus(id, status, lastError))
    })
  })
).pipe(Layer.provide([ToolRepo.Default, McpCatalog.Default]))
