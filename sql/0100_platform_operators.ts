import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Platform operators and the stdio MCP server catalog they publish.
 *
 * `users.operator`: promoted by another operator (PLATFORM_OPERATORS names the
 * first ones by email, without a row change). `mcp_stdio_catalog`: the only
 * command lines a stdio MCP server may be started with; projects instantiate
 * an entry by id, never supply a command themselves.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE users ADD COLUMN IF NOT EXISTS operator BOOLEAN NOT NULL DEFAULT FALSE`
  yield* sql`
    CREATE TABLE IF NOT EXISTS mcp_stdio_catalog (
      id          TEXT PRIMARY KEY,
      definition  JSONB NOT NULL,
      created_by  TEXT,
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
})
