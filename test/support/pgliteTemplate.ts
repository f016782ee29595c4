import { Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { isAlive } from "../../src/db/embedded/DataDir.ts"

/**
 * Every platform a test starts gets a fresh embedded database, but not by
 * initdb (seconds) nor by running the migrations again (~0.6 s): the first
 * `seedDataDir` of this test process opens a data dir of its own the way a
 * start does (a copy of the machine's initialised template, or initdb in a
 * worker thread where there is none, EMBEDDED_PG_TEMPLATE_DIR) and migrates
 * it; every platform after that starts from a copy of it, where the migrator
 * finds nothing left to do.
 */
let template: Promise<string> | undefined

/** The platform's database layer on `dir`: the embedded database opened, ours and the cluster's tables migrated. */
const openAndMigrate = async (dir: string) => {
  // Loaded here: this module is imported by tests that never start a platform.
  const [{ DatabaseLive }, { settingsWith }] = await Promise.all([
    import("../../src/db/Database.ts"),
    import("../../src/app/Settings.ts")
  ])
  // The machine's template (EMBEDDED_PG_TEMPLATE_DIR, read by AppConfig as at any start).
  const settings = settingsWith({ dataDir: dir, databaseUrl: Option.none() })
  await Effect.runPromise(
    Layer.build(DatabaseLive.pipe(Layer.provide(settings), Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))).pipe(Effect.scoped)
  )
}

const PREFIX = "pglite-template-"

/**
 * `bun test` runs no "exit" handlers, so a test process cannot remove its template when it
 * ends; the next one removes those of processes that are gone (39 MB each).
 */
const removeOrphans = () => {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = Number(name.slice(PREFIX.length).split("-")[0])
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true })
    }
  }
}

const makeTemplate = async () => {
  removeOrphans()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`))
  await openAndMigrate(dir)
  return dir
}

/** Fills `dataDir` with a fresh, migrated embedded database. */
export const seedDataDir = async (dataDir: string) => {
  template ??= makeTemplate()
  fs.cpSync(path.join(await template, "pg"), path.join(dataDir, "pg"), { recursive: true })
}
