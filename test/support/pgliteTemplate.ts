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

const makeTemplate = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-template-"))
  const db = await PGlite.create(path.join(dir, "pg"), { extensions: { vector } })
  await db.close()
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Fills `dataDir` with a fresh, initialised (unmigrated) embedded database. */
export const seedDataDir = async (dataDir: string) => {
  template ??= makeTemplate()
  fs.cpSync(path.join(await template, "pg"), path.join(dataDir, "pg"), { recursive: true })
}
