import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * PGlite's initdb takes seconds; copying an initialised data dir takes
 * milliseconds. The first platform started by this test process initialises a
 * template, every later one starts from a copy (then migrates as usual).
 */
let template: Promise<string> | undefined

const initialise = async (dir: string) => {
  const db = await PGlite.create(path.join(dir, "pg"), { extensions: { vector } })
  await db.close()
}

const makeTemplate = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-template-"))
  await initialise(dir)
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
