import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Orchestrator: the registry of remote A2A agents (local agents come from the
 * `agents` table), the delivery log behind reliable routing, and dead letters.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS orchestrator_agents (
      id                TEXT PRIMARY KEY,
      project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name              TEXT NOT NULL,
      description       TEXT NOT NULL DEFAULT '',
      card_url          TEXT NOT NULL,
      endpoint_url      TEXT NOT NULL,
      protocol_version  TEXT NOT NULL,
      card              JSONB NOT NULL,
      skills            JSONB NOT NULL DEFAULT '[]',
      status            TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'unreachable')),
      last_error        TEXT,
      refreshed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
      created_by        TEXT,
      created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, card_url)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS orchestrator_deliveries (
      id               TEXT PRIMARY KEY,
      project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      idempotency_key  TEXT NOT NULL,
      source           TEXT,
      target_id        TEXT NOT NULL,
      request          JSONB NOT NULL,
      status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead_lettered')),
      attempts         INTEGER NOT NULL DEFAULT 0,
      max_attempts     INTEGER NOT NULL,
      reply            JSONB,
      last_error       TEXT,
      created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
      delivered_at     TIMESTAMPTZ,
      UNIQUE (project_id, idempotency_key)
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS orchestrator_deliveries_status_idx ON orchestrator_deliveries (project_id, status)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS orchestrator_dead_letters (
      delivery_id  TEXT PRIMARY KEY REFERENCES orchestrator_deliveries(id) ON DELETE CASCADE,
      project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      target_id    TEXT NOT NULL,
      reason       TEXT NOT NULL,
      attempts     INTEGER NOT NULL,
      request      JSONB NOT NULL,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
})
