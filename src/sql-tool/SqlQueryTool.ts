import { Effect, Layer, Schema } from "effect"
import { QueryResult, SqlParam } from "../domain/SqlTool.ts"
import { type SqlToolError, SqlToolService } from "./SqlToolService.ts"

/** Arguments of the `sql_query` built-in tool, as an agent sends them. */
export const SqlQueryInput = Schema.Struct({
  connection: Schema.String.annotations({ description: "Id or name of a SQL connection saved in this project" }),
  sql: Schema.String.annotations({ description: "One read-only SELECT statement (CTEs, joins, window functions allowed)" }),
  params: Schema.optional(Schema.Array(SqlParam)).annotations({
    description: "Values bound to placeholders ($1, $2 for PostgreSQL; ? for MySQL and SQLite)"
  }),
  maxRows: Schema.optional(Schema.Int.pipe(Schema.between(1, 1_000))).annotations({ description: "Row cap (default 100)" })
})
export type SqlQueryInput = typeof SqlQueryInput.Type

export const sqlQueryToolSpec = {
  name: "sql_query",
  description: "Run one read-only SQL query on a database connection of this project and return the rows as JSON.",
  // Written out rather than derived with JSONSchema.make: in a long-lived process (the whole test
  // suite in one Bun process) the derived schema was seen with `required` as an object, which MCP
  // clients reject. It mirrors SqlQueryInput, which still decodes the arguments.
  inputSchema: {
    type: "object",
    properties: {
      connection: { type: "string", description: "Id or name of a SQL connection saved in this project" },
      sql: { type: "string", description: "One read-only SELECT statement (CTEs, joins, window functions allowed)" },
      params: {
        type: "array",
        description: "Values bound to placeholders ($1, $2 for PostgreSQL; ? for MySQL and SQLite)",
        items: { type: ["string", "number", "boolean", "null"] }
      },
      maxRows: { type: "integer", minimum: 1, maximum: 1000, description: "Row cap (default 100)" }
    },
    required: ["connection", "sql"],
    additionalProperties: false
  } as Record<string, unknown>,
  source: "builtin" as const
}

/**
 * What agents get: read-only queries on their project's connections. The
 * caller (the Tools service) has already decided the agent acts for
 * `projectId`; a connection of another project is "not found". Never writes:
 * the guard and the database's read-only transaction both apply.
 */
export class SqlQueryTool extends Effect.Service<SqlQueryTool>()("SqlTool/SqlQueryTool", {
  effect: Effect.gen(function*() {
    const service = yield* SqlToolService
    const query = (projectId: string, input: SqlQueryInput): Effect.Effect<QueryResult, SqlToolError> =>
      Effect.flatMap(service.findIn(projectId, input.connection), (stored) =>
        service.executeFor(stored, {
          sql: input.sql,
          params: input.params ?? [],
          mode: "read",
          maxRows: input.maxRows ?? 100
        })).pipe(Effect.withSpan("SqlQueryTool.query", { attributes: { "gen_ai.tool.name": "sql_query", projectId } }))
    return { spec: sqlQueryToolSpec, query } as const
  }),
  dependencies: [SqlToolService.Default]
}) {}

/**
 * The SQL tool's services sharing one pool cache: the HTTP handlers and the
 * `sql_query` tool. Needs the platform `SqlClient` (its own table) and the
 * settings (`SqlToolConfig`, provided with the others by src/app/Settings.ts).
 */
export const SqlToolLive = SqlQueryTool.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(SqlToolService.Default)
)
