import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * `approved_by`: the platform operator who created a SQL connection. A
 * SQLite file outside the project's directory (and the operator allow-list)
 * or a writable connection is only used when an operator created it; rows
 * from before this column (tenants' own) lose those powers.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sql_connections ADD COLUMN IF NOT EXISTS approved_by TEXT`
})
