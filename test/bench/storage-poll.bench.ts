/**
 * The cluster's storage poll (every second on every runner: @effect/cluster's query for the
 * unprocessed messages of the runner's 300 shards) on the embedded database after 100,000
 * processed messages and their replies (what a dev platform holds after a day of modest use;
 * the embedded database never gathers statistics), through the platform's own MessageStorage:
 * with the index of unprocessed messages (sql/0160) against the same database with that index
 * dropped (what it was before), alternated, median of POLLS per round.
 */
import { MessageStorage, ShardId } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { startPlatform } from "../support/platform.ts"
import type { BenchResult } from "./BenchResult.ts"

const MESSAGES = Number(process.env.STORAGE_POLL_BENCH_MESSAGES ?? 100_000)
const POLLS = 30
const ROUNDS = 2

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  // No maintenance pass during the run: it would gather the statistics this measures without.
  const interval = process.env.EMBEDDED_MAINTENANCE_INTERVAL_SECONDS
  process.env.EMBEDDED_MAINTENANCE_INTERVAL_SECONDS = "3600"
  const platform = await startPlatform()
  if (interval === undefined) delete process.env.EMBEDDED_MAINTENANCE_INTERVAL_SECONDS
  else process.env.EMBEDDED_MAINTENANCE_INTERVAL_SECONDS = interval
  try {
    const sql = (text: string) => platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (s) => s.unsafe(text)))
    await sql(`
      INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, processed)
        SELECT g, 'bench-' || g, 'default:' || (1 + g % 300), 'Agent', 'a' || (g % 50), 0, 'Execute', '{}', '{}', g, TRUE
        FROM generate_series(1, ${MESSAGES}) AS g`)
    await sql(`INSERT INTO cluster_replies (id, kind, request_id, payload) SELECT 90000000000 + g, 0, g, '{}' FROM generate_series(1, ${MESSAGES}) AS g`)
    const shards = Array.from({ length: 300 }, (_, i) => ShardId.make("default", i + 1))
    const poll = Effect.flatMap(MessageStorage.MessageStorage, (storage) => storage.unprocessedMessages(shards))
    const pollMs = async () => {
      const times: Array<number> = []
      for (let i = 0; i < POLLS; i++) {
        const start = performance.now()
        await platform.runtime.runPromise(poll)
        times.push(performance.now() - start)
      }
      return median(times)
    }
    await pollMs()
    const withIndex: Array<number> = []
    const without: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      withIndex.push(await pollMs())
      await sql("DROP INDEX cluster_messages_unprocessed_idx")
      without.push(await pollMs())
      await sql("CREATE INDEX cluster_messages_unprocessed_idx ON cluster_messages (shard_id, deliver_at) WHERE processed = FALSE")
    }
    const candidate = median(withIndex)
    const baseline = median(without)
    return [{
      name: `cluster storage poll, embedded, ${MESSAGES.toLocaleString("en")} processed messages, no statistics (median of ${POLLS}, ${ROUNDS} alternated rounds)`,
      candidate: { label: "index of unprocessed messages", value: candidate, unit: "ms" },
      baseline: { label: "without it (before)", value: baseline, unit: "ms" },
      ratio: candidate / baseline
    }]
  } finally {
    await platform.stop()
  }
}
