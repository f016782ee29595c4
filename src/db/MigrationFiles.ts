import * as path from "node:path"

/** The dir of the migration files `NNNN_name.ts`. */
export const migrationsDir = path.resolve(import.meta.dir, "../../sql")

/**
 * Each migration file's loader, by file name: found by a glob at start-up, so a service adds
 * a migration by adding a file. The server bundle (src/app/buildServerBundle.ts) replaces this module
 * with the same files imported statically.
 */
export const migrationModules = (): Record<string, () => Promise<unknown>> => {
  const record: Record<string, () => Promise<unknown>> = {}
  for (const file of new Bun.Glob("[0-9][0-9][0-9][0-9]_*.ts").scanSync({ cwd: migrationsDir })) {
    record[file] = () => import(path.join(migrationsDir, file))
  }
  return record
}
