import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The A2A protocol version a push config was registered over: its
 * notification is sent in that version's shape (a v0.3 client expects a v0.3
 * Task, `kind: "task"`, "completed"). Rows from before were all v1.0-shaped.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE a2a_push_configs ADD COLUMN IF NOT EXISTS protocol_version TEXT NOT NULL DEFAULT '1.0'`
})
