import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A project's tasks in progress (submitted or working), counted by the bound on them
 * (`AGENT_MAX_ACTIVE_TASKS_PER_PROJECT`, src/agents/ActiveTasksBound.ts) when a project reaches it.
 * A partial index stays as small as the tasks in progress, so the count never reads a project's
 * finished tasks, however many it has.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS agent_tasks_active_idx ON agent_tasks (project_id)
    WHERE state IN ('submitted', 'working')`
})
