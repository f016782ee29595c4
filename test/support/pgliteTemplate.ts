import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * PGlite's initdb takes seconds; copying an initialised data dir takes
 * milliseconds. The first platform started by this test process initialises a
 * template and runs the platform's migrations on it (its start does what every
 * start does); every later one starts from a copy, where the migrator finds
 * nothing left to do: ~0.6 s less per platform, ~60 platforms a `bun test`.
 */
let template: Promise<string> | undefined

const initialise = async (dir: string) => {
  const db = await PGlite.create(path.join(dir, "pg"), { extensions: { vector } })
  await db.close()
}

/** The platform's migrations (ours and the cluster's tables) run on the data dir, as at a start. */
const migrate = async (dir: string) => {
  // Loaded here: this module is imported by tests that never start a platform.
  const [{ DatabaseLive }, { settingsWith }] = await Promise.all([
    import("../../src/db/Database.ts"),
    import("../../src/app/Settings.ts")
  ])
  const settings = settingsWith({ dataDir: dir, databaseUrl: Option.none(), embeddedTemplateDir: undefined })
  await Effect.runPromise(
    Layer.build(DatabaseLive.pipe(Layer.provide(settings), Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))).pipe(Effect.scoped)
  )
}

const makeTemplate = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-template-"))
  await initialise(dir)
  await migrate(dir)
  // The closed instance leaves ~1.5 GB of WebAssembly heap that only a full collection frees;
  // until one ran, an entity round trip in this process took 360-450 µs instead of 55-80 µs
  // for its first ~15 s (the allocator faulting in fresh pages meanwhile). Collected from a
  // timer: JavaScriptCore scans the stack conservatively, and from in here it still finds it.
  await new Promise<void>((resolve) => setTimeout(() => (Bun.gc(true), resolve()), 0))
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Fills `dataDir` with a fresh, initialised (unmigrated) embedded database. */
export const seedDataDir = async (dataDir: string) => {
  template ??= makeTemplate()
  fs.cpSync(path.join(await template, "pg"), path.join(dataDir, "pg"), { recursive: true })
}
