import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The seed's shared tables. Every resource row carries `project_id`: tenancy is
 * enforced by repositories scoping on it. Services extend these tables in
 * their own later migrations.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS users (
      id            TEXT PRIMARY KEY,
      email         TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      display_name  TEXT,
      disabled      BOOLEAN NOT NULL DEFAULT FALSE,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS projects (
      id          TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      owner_id    TEXT NOT NULL REFERENCES users(id),
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS project_members (
      project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role        TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (project_id, user_id)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS agents (
      id             TEXT PRIMARY KEY,
      project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name           TEXT NOT NULL,
      description    TEXT NOT NULL DEFAULT '',
      provider       TEXT NOT NULL,
      model          TEXT NOT NULL,
      system_prompt  TEXT NOT NULL DEFAULT '',
      tools          JSONB NOT NULL DEFAULT '[]',
      skills         JSONB NOT NULL DEFAULT '[]',
      config         JSONB NOT NULL DEFAULT '{}',
      created_by     TEXT REFERENCES users(id),
      created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS agents_project_idx ON agents (project_id)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS tools (
      id            TEXT PRIMARY KEY,
      project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      description   TEXT NOT NULL DEFAULT '',
      kind          TEXT NOT NULL,
      input_schema  JSONB NOT NULL DEFAULT '{}',
      config        JSONB NOT NULL DEFAULT '{}',
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, name)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS tool_instances (
      id          TEXT PRIMARY KEY,
      project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name        TEXT NOT NULL,
      kind        TEXT NOT NULL,
      config      JSONB NOT NULL DEFAULT '{}',
      status      TEXT NOT NULL DEFAULT 'registered',
      last_error  TEXT,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, name)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS workflows (
      id           TEXT PRIMARY KEY,
      project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name         TEXT NOT NULL,
      description  TEXT NOT NULL DEFAULT '',
      version      INTEGER NOT NULL DEFAULT 1,
      definition   JSONB NOT NULL,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS workflow_executions (
      id                TEXT PRIMARY KEY,
      workflow_id       TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
      project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      workflow_version  INTEGER NOT NULL,
      status            TEXT NOT NULL,
      input             JSONB NOT NULL DEFAULT '{}',
      output            JSONB,
      variables         JSONB NOT NULL DEFAULT '{}',
      step_results      JSONB NOT NULL DEFAULT '{}',
      error             TEXT,
      started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
      completed_at      TIMESTAMPTZ
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS workflow_executions_workflow_idx ON workflow_executions (workflow_id, started_at DESC)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS rag_documents (
      id            TEXT PRIMARY KEY,
      project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      filename      TEXT NOT NULL,
      content_type  TEXT NOT NULL,
      content_hash  TEXT NOT NULL,
      size_bytes    BIGINT NOT NULL,
      status        TEXT NOT NULL DEFAULT 'pending',
      chunk_count   INTEGER NOT NULL DEFAULT 0,
      metadata      JSONB NOT NULL DEFAULT '{}',
      error         TEXT,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, content_hash)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS observability_traces (
      id              BIGSERIAL PRIMARY KEY,
      trace_id        TEXT NOT NULL,
      span_id         TEXT NOT NULL,
      parent_span_id  TEXT,
      service         TEXT NOT NULL,
      operation       TEXT NOT NULL,
      status          TEXT NOT NULL,
      start_time      TIMESTAMPTZ NOT NULL,
      duration_ms     DOUBLE PRECISION NOT NULL,
      attributes      JSONB NOT NULL DEFAULT '{}',
      project_id      TEXT
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS observability_traces_trace_idx ON observability_traces (trace_id)`
  yield* sql`CREATE INDEX IF NOT EXISTS observability_traces_time_idx ON observability_traces (start_time DESC)`
})
