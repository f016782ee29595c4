import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS durable_jobs (
      job_id        TEXT PRIMARY KEY,
      attempts      INTEGER NOT NULL DEFAULT 0,
      status        TEXT NOT NULL,
      started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      completed_at  TIMESTAMPTZ
    )`
})
