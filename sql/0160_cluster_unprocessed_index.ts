import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The cluster's storage poll (@effect/cluster's `getUnprocessedMessages`, every second on every
 * runner) looks for messages not yet processed in the runner's shards. Its own index
 * (`cluster_messages_shard_idx`: shard, processed, ...) is used only where the table has
 * statistics; without them (the embedded database never gathers any, and a new PostgreSQL table
 * before autovacuum's first ANALYZE) the poll read every stored message, processed ones
 * included, and processed messages are kept: 3 ms per poll on a new embedded database, 17 ms
 * after 100,000 messages, growing with every message the platform ever handled (issue #19).
 * A partial index over the unprocessed messages stays as small as the work waiting, so the
 * planner takes it with or without statistics. (The tables are the cluster's own: MigrationsLive
 * creates them before these migrations run.)
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS cluster_messages_unprocessed_idx ON cluster_messages (shard_id, deliver_at) WHERE processed = FALSE`
})
