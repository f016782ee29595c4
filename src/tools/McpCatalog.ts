import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { McpCatalogEntry } from "../domain/Mcp.ts"
import { Conflict } from "../kernel/WireErrors.ts"
import { ToolsConfig } from "./ToolsConfig.ts"

export interface CatalogItem {
  readonly entry: McpCatalogEntry
  /** "config": MCP_STDIO_CATALOG (read-only here); "operator": published through the API. */
  readonly source: "config" | "operator"
}

/**
 * The operators' stdio MCP server catalog: entries from configuration plus
 * the `mcp_stdio_catalog` table. The only place a stdio command line comes
 * from; a project's server refers to an entry by id and is resolved on every
 * connect, so an operator's change or removal applies at the next reconnect.
 */
export class McpCatalog extends Effect.Service<McpCatalog>()("Tools/McpCatalog", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const settings = yield* ToolsConfig
    const configured = new Map(settings.mcpStdioCatalog.map((e) => [e.id, e] as const))
    const decode = Schema.decodeUnknown(Schema.parseJson(McpCatalogEntry))

    const stored = sql<{ id: string; definition: string }>`
      SELECT id, definition::text AS definition FROM mcp_stdio_catalog ORDER BY id`.pipe(
      Effect.flatMap(Effect.forEach((row) => decode(row.definition))),
      Effect.orDie
    )

    const list: Effect.Effect<ReadonlyArray<CatalogItem>> = Effect.map(stored, (rows) => [
      ...[...configured.values()].map((entry) => ({ entry, source: "config" as const })),
      ...rows.filter((e) => !configured.has(e.id)).map((entry) => ({ entry, source: "operator" as const }))
    ])

    const get = (id: string): Effect.Effect<Option.Option<McpCatalogEntry>> => {
      const fixed = configured.get(id)
      if (fixed !== undefined) return Effect.succeed(Option.some(fixed))
      return sql<{ definition: string }>`SELECT definition::text AS definition FROM mcp_stdio_catalog WHERE id = ${id}`.pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decode(rows[0]!.definition))),
        Effect.orDie
      )
    }

    const put = (entry: McpCatalogEntry, userId: string) =>
      configured.has(entry.id)
        ? Effect.fail(new Conflict({ message: `catalog entry ${entry.id} is defined by MCP_STDIO_CATALOG` }))
        : sql`
          INSERT INTO mcp_stdio_catalog (id, definition, created_by)
          VALUES (${entry.id}, ${JSON.stringify(entry)}::jsonb, ${userId})
          ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, created_by = EXCLUDED.created_by,
            updated_at = now()`.pipe(Effect.asVoid, Effect.orDie)

    const remove = (id: string) =>
      configured.has(id)
        ? Effect.fail(new Conflict({ message: `catalog entry ${id} is defined by MCP_STDIO_CATALOG` }))
        : sql`DELETE FROM mcp_stdio_catalog WHERE id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie
        )

    return { list, get, put, remove } as const
  })
}) {}
