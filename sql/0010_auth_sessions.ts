import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Gateway auth state. A session is one login: its refresh tokens form a
 * family (each refresh rotates to a new row); revoking the session revokes
 * the family and every access token carrying its id (`sid`). Tokens and API
 * keys are stored only as SHA-256 hashes.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS auth_sessions (
      id              TEXT PRIMARY KEY,
      user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
      revoked_at      TIMESTAMPTZ,
      revoked_reason  TEXT
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS auth_sessions_user_idx ON auth_sessions (user_id)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS refresh_tokens (
      token_hash  TEXT PRIMARY KEY,
      session_id  TEXT NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
      expires_at  TIMESTAMPTZ NOT NULL,
      used_at     TIMESTAMPTZ,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS refresh_tokens_session_idx ON refresh_tokens (session_id)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS api_keys (
      id            TEXT PRIMARY KEY,
      project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      key_hash      TEXT NOT NULL UNIQUE,
      key_prefix    TEXT NOT NULL,
      role          TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
      created_by    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      expires_at    TIMESTAMPTZ,
      revoked_at    TIMESTAMPTZ,
      last_used_at  TIMESTAMPTZ
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS api_keys_project_idx ON api_keys (project_id)`
  yield* sql`CREATE INDEX IF NOT EXISTS project_members_user_idx ON project_members (user_id)`
})
