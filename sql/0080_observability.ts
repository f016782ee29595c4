import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Observability: where stored spans came from (recorded here vs ingested over
 * POST /observability/traces: ingested spans never widen who sees a trace),
 * agent-to-agent hops, alert rules and their state.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE observability_traces ADD COLUMN IF NOT EXISTS source TEXT NOT NULL DEFAULT 'internal'`
  yield* sql`ALTER TABLE observability_traces ADD COLUMN IF NOT EXISTS kind TEXT`
  yield* sql`CREATE INDEX IF NOT EXISTS observability_traces_project_idx ON observability_traces (project_id, trace_id)`
  yield* sql`CREATE INDEX IF NOT EXISTS observability_traces_service_time_idx ON observability_traces (service, start_time DESC)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS a2a_flows (
      id           BIGSERIAL PRIMARY KEY,
      from_agent   TEXT NOT NULL,
      to_agent     TEXT NOT NULL,
      method       TEXT NOT NULL,
      duration_ms  DOUBLE PRECISION NOT NULL,
      status       TEXT NOT NULL,
      error        TEXT,
      project_id   TEXT,
      trace_id     TEXT,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS a2a_flows_project_time_idx ON a2a_flows (project_id, created_at DESC)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS alert_rules (
      id              TEXT PRIMARY KEY,
      project_id      TEXT NOT NULL,
      name            TEXT NOT NULL,
      metric          TEXT NOT NULL,
      labels          JSONB NOT NULL DEFAULT '{}',
      aggregation     TEXT NOT NULL,
      comparison      TEXT NOT NULL,
      threshold       DOUBLE PRECISION NOT NULL,
      window_seconds  INTEGER NOT NULL,
      webhook_url     TEXT NOT NULL,
      enabled         BOOLEAN NOT NULL DEFAULT true,
      created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS alert_rules_project_idx ON alert_rules (project_id)`
  // One row per rule: the incident state and what the webhook was last told (dedupe).
  yield* sql`
    CREATE TABLE IF NOT EXISTS alert_states (
      rule_id         TEXT PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
      state           TEXT NOT NULL,
      incident_id     TEXT,
      value           DOUBLE PRECISION,
      since           TIMESTAMPTZ NOT NULL DEFAULT now(),
      notified_state  TEXT,
      notified_at     TIMESTAMPTZ,
      last_error      TEXT,
      evaluated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
})
