import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Workflow engine tables on top of the seed's `workflows` / `workflow_executions`.
 *
 * - `workflow_versions`: every PUT appends an immutable version; runs pin one.
 * - `workflow_executions` gains the definition snapshot it runs (so inline
 *   definitions need no workflow row and a later PUT never changes a running
 *   run), its trigger, parent run and an idempotency key.
 * - `workflow_schedule_ticks`: one row per (workflow, cron tick); the primary
 *   key is what makes a tick fire exactly once across nodes.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS workflow_versions (
      workflow_id  TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
      version      INTEGER NOT NULL,
      definition   JSONB NOT NULL,
      created_by   TEXT,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (workflow_id, version)
    )`
  yield* sql`ALTER TABLE workflows ADD COLUMN IF NOT EXISTS created_by TEXT`
  yield* sql`ALTER TABLE workflows ADD COLUMN IF NOT EXISTS schedule_cron TEXT`
  yield* sql`CREATE INDEX IF NOT EXISTS workflows_project_idx ON workflows (project_id)`
  yield* sql`CREATE INDEX IF NOT EXISTS workflows_schedule_idx ON workflows (id) WHERE schedule_cron IS NOT NULL`

  yield* sql`ALTER TABLE workflow_executions ALTER COLUMN workflow_id DROP NOT NULL`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS definition JSONB`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS trigger TEXT NOT NULL DEFAULT 'api'`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS parent_run_id TEXT`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS depth INTEGER NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS idempotency_key TEXT`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS cancel_requested BOOLEAN NOT NULL DEFAULT FALSE`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS created_by TEXT`
  yield* sql`ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now()`
  yield* sql`
    CREATE UNIQUE INDEX IF NOT EXISTS workflow_executions_idem_idx
    ON workflow_executions (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL`
  yield* sql`CREATE INDEX IF NOT EXISTS workflow_executions_project_idx ON workflow_executions (project_id, started_at DESC)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS workflow_schedule_ticks (
      workflow_id  TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
      tick_at      TIMESTAMPTZ NOT NULL,
      run_id       TEXT NOT NULL,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (workflow_id, tick_at)
    )`
})
