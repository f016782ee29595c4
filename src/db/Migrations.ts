import { ShardingConfig, Snowflake, SqlMessageStorage, SqlRunnerStorage } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { migrationModules } from "./MigrationFiles.ts"

/**
 * Migrations are the files `sql/NNNN_name.ts` (each `export default Effect.gen(...)`),
 * discovered at start-up so a service adds a migration by adding a file (MigrationFiles.ts).
 *
 * Numbering: the Migrator only runs ids above the highest one already applied,
 * so a new migration must always take a number above every existing one.
 */
export { migrationsDir } from "./MigrationFiles.ts"

const loader = Effect.sync(migrationModules).pipe(Effect.flatMap((record) => PgMigrator.fromGlob(record)))

/** pg_advisory_lock key for "platform migrations" (any constant; shared by every node). */
const MIGRATION_LOCK = 7_311_202_611

/**
 * Runs the migrations (ours and the cluster's) under a Postgres advisory lock held on a reserved
 * connection: when several nodes start at once (docker compose up), one
 * migrates and the others wait, then find nothing left to do.
 */
export const MigrationsLive = Layer.effectDiscard(
  Effect.scoped(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const conn = yield* sql.reserve
    yield* Effect.acquireRelease(
      conn.executeRaw(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`, []),
      () => conn.executeRaw(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`, []).pipe(Effect.ignore)
    )
    // The cluster creates its own tables when its storage starts; doing it here,
    // under the same lock, stops racing CREATE TABLEs between nodes starting together.
    // Before ours: a migration of ours may index the cluster's tables (sql/0160).
    yield* SqlMessageStorage.make().pipe(Effect.provide(Snowflake.layerGenerator))
    yield* SqlRunnerStorage.make({}).pipe(Effect.provide(ShardingConfig.layer()))
    yield* PgMigrator.run({ loader, table: "platform_migrations" })
  }))
).pipe(Layer.orDie)
