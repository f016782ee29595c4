import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A project's runs in progress (pending or running), counted by the bound on them
 * (`WORKFLOW_MAX_ACTIVE_RUNS_PER_PROJECT`, src/workflows/ActiveRunsBound.ts) when a project reaches
 * it. A partial index stays as small as the runs in progress, so the count never reads a project's
 * finished runs, however many it has.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS workflow_executions_active_idx ON workflow_executions (project_id)
    WHERE status IN ('pending', 'running')`
})
