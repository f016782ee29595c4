import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Durable jobs belong to a project: the same job id in two projects is two jobs, and only
 * members read them. Jobs of the service principal (no project) keep the empty scope, as do
 * rows written before this migration (no member of any project sees those).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE durable_jobs ADD COLUMN IF NOT EXISTS project_id TEXT NOT NULL DEFAULT ''`
  yield* sql`ALTER TABLE durable_jobs ADD COLUMN IF NOT EXISTS created_by TEXT`
  yield* sql`ALTER TABLE durable_jobs DROP CONSTRAINT IF EXISTS durable_jobs_pkey`
  yield* sql`ALTER TABLE durable_jobs ADD PRIMARY KEY (project_id, job_id)`
})
