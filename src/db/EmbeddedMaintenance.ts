import { SqlClient } from "@effect/sql"
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import * as Values from "../config/Values.ts"

/**
 * Autovacuum for the embedded database. PGlite is one session with no background workers: no
 * autovacuum, so nothing ever removed a dead row (every task and message is written and then
 * updated: after 5,000 A2A sends `cluster_messages` and `agent_tasks` held as many dead rows as
 * live ones, and space was never reused) and nothing ever gathered statistics (every plan was
 * made on default estimates). Here, as autovacuum decides with its default settings: a table
 * with more dead rows than 50 + 20 % of its live ones is vacuumed and analyzed, one changed by
 * more than 50 + 10 % since its last analysis is analyzed.
 *
 * A VACUUM holds the one session while it runs (~100 ms per 5,000-row table on this machine),
 * so tables go one at a time and other statements run between them; the thresholds make it
 * rarer as a table grows, as autovacuum's do. A real PostgreSQL (DATABASE_URL) has its own.
 */

export const MaintenanceSettings = Config.all({
  /** How often the tables' counters are checked. */
  intervalSeconds: Values.positiveInteger("EMBEDDED_MAINTENANCE_INTERVAL_SECONDS").pipe(Config.withDefault(60))
})

/** What one pass did, by table. */
export interface MaintenancePass {
  readonly vacuumed: ReadonlyArray<string>
  readonly analyzed: ReadonlyArray<string>
}

/** One pass over the database's own tables (schema `public`). */
export const maintainOnce: Effect.Effect<MaintenancePass, unknown, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const due = yield* sql.unsafe<{ name: string; vacuum: boolean }>(`
    SELECT quote_ident(relname) AS name, n_dead_tup > 50 + 0.2 * n_live_tup AS vacuum
    FROM pg_stat_user_tables
    WHERE schemaname = 'public'
      AND (n_dead_tup > 50 + 0.2 * n_live_tup OR n_mod_since_analyze > 50 + 0.1 * n_live_tup)
    ORDER BY relname`)
  const vacuumed: Array<string> = []
  const analyzed: Array<string> = []
  for (const table of due) {
    // Not in a transaction (VACUUM cannot be): each statement on its own.
    if (table.vacuum) {
      yield* sql.unsafe(`VACUUM (ANALYZE) ${table.name}`)
      vacuumed.push(table.name)
    } else {
      yield* sql.unsafe(`ANALYZE ${table.name}`)
      analyzed.push(table.name)
    }
  }
  return { vacuumed, analyzed }
})

/** A pass every interval for as long as the layer lives. */
export const EmbeddedMaintenanceLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const settings = yield* MaintenanceSettings
    const interval = Duration.seconds(settings.intervalSeconds)
    const pass = maintainOnce.pipe(
      Effect.tap((done) =>
        done.vacuumed.length + done.analyzed.length > 0
          ? Effect.logDebug("embedded database maintenance").pipe(Effect.annotateLogs({ ...done }))
          : Effect.void
      ),
      Effect.catchAllCause((cause) => Effect.logWarning("embedded database maintenance failed", cause))
    )
    yield* Effect.sleep(interval).pipe(Effect.zipRight(pass), Effect.repeat(Schedule.spaced(interval)), Effect.forkScoped)
  })
).pipe(Layer.orDie)
