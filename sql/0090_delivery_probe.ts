import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS delivery_probe_effects (
      message_id  TEXT PRIMARY KEY,
      entity_id   TEXT NOT NULL,
      amount      INTEGER NOT NULL,
      applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS delivery_probe_totals (
      entity_id   TEXT PRIMARY KEY,
      total       BIGINT NOT NULL DEFAULT 0,
      applied     INTEGER NOT NULL DEFAULT 0,
      deliveries  INTEGER NOT NULL DEFAULT 0
    )`
})
