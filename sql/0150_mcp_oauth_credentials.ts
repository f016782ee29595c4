import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * OAuth 2.1 credentials of remote MCP servers (issue #21), one row per registered server: the
 * client, tokens, PKCE verifier and discovery state as one AES-GCM blob (`sealed`, the SQL tool's
 * key, the project and server ids as additional data), and the authorization in progress: the
 * SHA-256 of its `state` parameter, the user who started it and when it expires.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS mcp_oauth_credentials (
      server_id           TEXT PRIMARY KEY REFERENCES tool_instances(id) ON DELETE CASCADE,
      project_id          TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      sealed              TEXT NOT NULL,
      pending_state_hash  TEXT UNIQUE,
      pending_user_id     TEXT,
      pending_expires_at  TIMESTAMPTZ,
      updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
})
