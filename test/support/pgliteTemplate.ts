import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * PGlite's initdb takes seconds; copying an initialised data dir takes
 * milliseconds. The first platform started by this test process initialises a
 * template, every later one starts from a copy (then migrates as usual).
 * Harnesses that start the whole platform copy a second template, migrated
 * once per process by the platform's own migrations: each start then finds
 * every migration applied (~140 statements, 0.5–0.7 s of the embedded
 * database per start on this machine, about a third of a start).
 */
let template: Promise<string> | undefined
let migratedTemplate: Promise<string> | undefined

const initialise = async (dir: string) => {
  const db = await PGlite.create(path.join(dir, "pg"), { extensions: { vector } })
  await db.close()
}

/**
 * A closed PGlite instance leaves ~1.5 GB of WebAssembly heap that only a full collection
 * frees; until one ran, an entity round trip in this process took 360-450 µs instead of
 * 55-80 µs for its first ~15 s (the allocator faulting in fresh pages meanwhile). Collected
 * from a timer: JavaScriptCore scans the stack conservatively, and from the caller's frame it
 * still finds the instance.
 */
const collectClosedInstance = () => new Promise<void>((resolve) => setTimeout(() => (Bun.gc(true), resolve()), 0))

const makeTemplate = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-template-"))
  await initialise(dir)
  await collectClosedInstance()
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const makeMigratedTemplate = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-migrated-"))
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  await seedDataDir(dir)
  // Loaded here, not at the top: most users of this module only need the plain template.
  const { DatabaseLive } = await import("../../src/db/Database.ts")
  const { settingsWith } = await import("../../src/app/Settings.ts")
  await Effect.runPromise(Layer.build(
    DatabaseLive.pipe(Layer.provide(settingsWith({ dataDir: dir })), Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))
  ).pipe(Effect.scoped))
  await collectClosedInstance()
  return dir
}

/** Fills `dataDir` with a fresh, initialised (unmigrated) embedded database. */
export const seedDataDir = async (dataDir: string) => {
  template ??= makeTemplate()
  fs.cpSync(path.join(await template, "pg"), path.join(dataDir, "pg"), { recursive: true })
}

/**
 * Fills `dataDir` with a fresh embedded database on which the platform's migrations (ours and
 * the cluster's tables) already ran: for harnesses that start the platform (which migrates
 * again and finds nothing to do). Only the database is copied, nothing else of the data dir.
 */
export const seedMigratedDataDir = async (dataDir: string) => {
  migratedTemplate ??= makeMigratedTemplate()
  fs.cpSync(path.join(await migratedTemplate, "pg"), path.join(dataDir, "pg"), { recursive: true })
}
