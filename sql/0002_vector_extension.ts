import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * pgvector where the server has it and this role may create it. A server
 * without it (e.g. a stock PostgreSQL 15), or a role that is neither superuser
 * nor allowed a trusted extension (pgvector is not marked trusted), still
 * migrates: `VectorSupport` decides at start-up whether that is an error, and
 * names the missing extension. Checked up front rather than caught, because a
 * failed statement would abort the migration's transaction.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const creatable = yield* sql`
    SELECT 1 FROM pg_available_extension_versions v
    JOIN pg_available_extensions a ON a.name = v.name AND a.default_version = v.version
    WHERE v.name = 'vector'
      AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')
      AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
        OR (v.trusted AND has_database_privilege(current_database(), 'CREATE')))`
  if (creatable.length > 0) {
    yield* sql`CREATE EXTENSION IF NOT EXISTS vector`
  }
})
