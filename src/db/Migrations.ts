import { PgMigrator } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import * as path from "node:path"

/**
 * Migrations are the files `sql/NNNN_name.ts` (each `export default Effect.gen(...)`),
 * discovered at start-up so a service adds a migration by adding a file.
 *
 * Numbering: the Migrator only runs ids above the highest one already applied,
 * so a new migration must always take a number above every existing one.
 */
export const migrationsDir = path.resolve(import.meta.dir, "../../sql")

const loader = Effect.sync(() => {
  const record: Record<string, () => Promise<unknown>> = {}
  for (const file of new Bun.Glob("[0-9][0-9][0-9][0-9]_*.ts").scanSync({ cwd: migrationsDir })) {
    record[file] = () => import(path.join(migrationsDir, file))
  }
  return record
}).pipe(Effect.flatMap((record) => PgMigrator.fromGlob(record)))

export const MigrationsLive = PgMigrator.layer({
  loader,
  table: "platform_migrations"
}).pipe(Layer.orDie)
