import { afterAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { PgLive } from "../../src/db/Database.ts"
import { maintainOnce } from "../../src/db/EmbeddedMaintenance.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * The embedded database (PGlite: no autovacuum) is vacuumed and analyzed by the platform as
 * autovacuum would: a table with many dead rows is vacuumed, one with many new rows analyzed,
 * an unchanged one left alone; and the platform's embedded database does it on its own.
 */
type Database = ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
const opened: Array<{ readonly runtime: Database; readonly remove: () => void }> = []

/** The platform's embedded database in a data dir of its own, its pass every `intervalSeconds`. */
const open = async (intervalSeconds: number) => {
  const tmp = makeTempDir("embedded-maintenance")
  await seedDataDir(tmp.dir)
  const settings = ConfigProvider.fromMap(new Map([["EMBEDDED_MAINTENANCE_INTERVAL_SECONDS", String(intervalSeconds)]])).pipe(
    ConfigProvider.orElse(() => ConfigProvider.fromEnv())
  )
  const runtime: Database = ManagedRuntime.make(
    PgLive.pipe(
      Layer.provide(AppConfig.layerWith({ dataDir: tmp.dir })),
      Layer.provide(Layer.setConfigProvider(settings)),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
    )
  )
  await runtime.runPromise(Effect.void)
  opened.push({ runtime, remove: tmp.remove })
  const run = <A extends object>(text: string) => runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(text)))
  const counters = async (table: string) => {
    const [row] = await run<{ dead: number; vacuums: number }>(
      `SELECT n_dead_tup::int AS dead, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relname = '${table}'`
    )
    return row!
  }
  return { run, counters, pass: () => runtime.runPromise(maintainOnce) }
}

afterAll(async () => {
  for (const db of opened) {
    await db.runtime.dispose()
    db.remove()
  }
})

describe("embedded database maintenance", () => {
  test("one pass: the table with dead rows vacuumed, the one with new rows analyzed, the unchanged one left", async () => {
    // No pass of its own during the test (an hour apart).
    const db = await open(3600)
    await db.run("CREATE TABLE churned (id int PRIMARY KEY, v int)")
    await db.run("CREATE TABLE grown (id int PRIMARY KEY)")
    await db.run("CREATE TABLE still (id int PRIMARY KEY)")
    await db.run("INSERT INTO still SELECT g FROM generate_series(1, 10) g")
    await db.run("INSERT INTO churned SELECT g, 0 FROM generate_series(1, 300) g")
    // Settled first: whatever the migrations and the lines above left is dealt with.
    await db.pass()
    await db.run("UPDATE churned SET v = 1")
    await db.run("UPDATE churned SET v = 2")
    await db.run("INSERT INTO grown SELECT g FROM generate_series(1, 300) g")
    // The session publishes its counters at most once a second.
    await waitFor(async () => (await db.counters("churned")).dead >= 300, 10_000)
    const pass = await db.pass()
    expect(pass.vacuumed).toContain("churned")
    expect(pass.analyzed).toContain("grown")
    expect([...pass.vacuumed, ...pass.analyzed]).not.toContain("still")
    await waitFor(async () => (await db.counters("churned")).dead === 0, 10_000)
    // Nothing is due once the counters show the pass.
    await waitFor(async () => {
      const again = await db.pass()
      return again.vacuumed.length === 0 && again.analyzed.length === 0
    }, 10_000)
  }, 60_000)

  test("the platform's embedded database runs it on its own, every interval", async () => {
    const db = await open(1)
    await db.run("CREATE TABLE busy (id int PRIMARY KEY, v int)")
    await db.run("INSERT INTO busy SELECT g, 0 FROM generate_series(1, 200) g")
    const before = await db.counters("busy")
    await db.run("UPDATE busy SET v = v + 1")
    await db.run("UPDATE busy SET v = v + 1")
    await waitFor(async () => {
      const now = await db.counters("busy")
      return now.vacuums > before.vacuums && now.dead === 0
    }, 15_000)
  }, 60_000)
})
