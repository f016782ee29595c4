import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * SQL tool connections. `secret` is the AES-GCM sealed connection string
 * (bound to project and connection id); `target` is the credential-free
 * host:port/database shown in listings.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS sql_connections (
      id          TEXT PRIMARY KEY,
      project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name        TEXT NOT NULL,
      dialect     TEXT NOT NULL CHECK (dialect IN ('postgres', 'mysql', 'sqlite', 'mssql')),
      target      TEXT NOT NULL,
      secret      TEXT NOT NULL,
      writable    BOOLEAN NOT NULL DEFAULT FALSE,
      created_by  TEXT,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, name)
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS sql_connections_project_idx ON sql_connections (project_id)`
})
