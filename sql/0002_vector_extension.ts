import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * pgvector where the server has it. A server without it (e.g. a stock
 * PostgreSQL 15) still migrates: `VectorSupport` decides at start-up whether
 * that is an error, and names the missing extension.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const available = yield* sql`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`
  if (available.length > 0) {
    yield* sql`CREATE EXTENSION IF NOT EXISTS vector`
  }
})
