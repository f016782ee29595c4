import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Agent conversations: A2A tasks (one per message exchange, grouped by
 * context), their messages (the A2A history plus the LLM transcript incl.
 * tool turns), one run row per execution with usage and cost, and A2A push
 * notification configs.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS agent_tasks (
      id              TEXT PRIMARY KEY,
      agent_id        TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      context_id      TEXT NOT NULL,
      state           TEXT NOT NULL,
      status_message  JSONB,
      artifacts       JSONB NOT NULL DEFAULT '[]',
      metadata        JSONB NOT NULL DEFAULT '{}',
      created_by      TEXT,
      created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS agent_tasks_agent_idx ON agent_tasks (agent_id, updated_at DESC)`
  yield* sql`CREATE INDEX IF NOT EXISTS agent_tasks_context_idx ON agent_tasks (context_id, created_at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS agent_messages (
      seq         BIGSERIAL PRIMARY KEY,
      task_id     TEXT NOT NULL REFERENCES agent_tasks(id) ON DELETE CASCADE,
      message_id  TEXT NOT NULL,
      role        TEXT NOT NULL CHECK (role IN ('user', 'agent', 'tool')),
      parts       JSONB NOT NULL DEFAULT '[]',
      llm         JSONB NOT NULL,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS agent_messages_task_idx ON agent_messages (task_id, seq)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS agent_runs (
      id                  TEXT PRIMARY KEY,
      task_id             TEXT NOT NULL REFERENCES agent_tasks(id) ON DELETE CASCADE,
      agent_id            TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      project_id          TEXT NOT NULL,
      requested_provider  TEXT NOT NULL,
      provider            TEXT NOT NULL,
      model               TEXT NOT NULL,
      status              TEXT NOT NULL,
      steps               INTEGER NOT NULL DEFAULT 0,
      input_tokens        INTEGER NOT NULL DEFAULT 0,
      output_tokens       INTEGER NOT NULL DEFAULT 0,
      cost_usd            DOUBLE PRECISION NOT NULL DEFAULT 0,
      error               TEXT,
      started_at          TIMESTAMPTZ NOT NULL,
      finished_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
      duration_ms         DOUBLE PRECISION NOT NULL
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS agent_runs_agent_idx ON agent_runs (agent_id, finished_at DESC)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS a2a_push_configs (
      task_id     TEXT NOT NULL REFERENCES agent_tasks(id) ON DELETE CASCADE,
      id          TEXT NOT NULL,
      url         TEXT NOT NULL,
      token       TEXT,
      authentication JSONB,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (task_id, id)
    )`
})
