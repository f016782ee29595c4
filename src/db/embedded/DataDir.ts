/**
 * The embedded database's data directory on disk: the one-process lock and
 * the pre-initialised template a fresh directory is copied from.
 *
 * Plain Node APIs only (no Effect): main.ts uses it before the platform's
 * modules are loaded (embedded/EarlyStart.ts).
 *
 * The template: PGlite's initdb costs seconds of CPU (and grows its heap to
 * ~600 MB), and its result is the same for every data dir of one
 * PGlite + pgvector build. It is made once per machine (at install time by
 * `bun src/db/prepareTemplate.ts`, the package's postinstall, or by the first
 * start that ran initdb) under a directory named after those versions, and a
 * fresh data dir is a copy of it. It holds nothing but initdb's output:
 * migrations still run on the copy, and postgresql.conf is rewritten by
 * PGlite at every open.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const packageVersion = (name: string) => {
  try {
    // The entry is <package>/dist/index.js.
    const entry = Bun.resolveSync(name, import.meta.dir)
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), "..", "package.json"), "utf8")) as {
      version?: string
    }
    return pkg.version ?? "unknown"
  } catch {
    return "unknown"
  }
}

/** The template directory for this PGlite + pgvector build: another build never reads it. */
export const templateDir = (root: string) =>
  path.join(root, `pglite-${packageVersion("@electric-sql/pglite")}-vector-${packageVersion("@electric-sql/pglite-pgvector")}`)

export const isInitialized = (pgDir: string) => fs.existsSync(path.join(pgDir, "PG_VERSION"))

/**
 * Makes `pgDir` a copy of the template when there is one; false when there is
 * none (the caller runs initdb). Copied beside the target and renamed, so a
 * copy cut short never looks initialised.
 */
export const restoreTemplate = (root: string | undefined, pgDir: string): boolean => {
  if (root === undefined) return false
  const template = templateDir(root)
  if (!isInitialized(template)) return false
  const staging = `${pgDir}.template-${process.pid}`
  try {
    fs.rmSync(staging, { recursive: true, force: true })
    fs.cpSync(template, staging, { recursive: true })
    // A directory left by an initdb cut short holds nothing worth keeping.
    fs.rmSync(pgDir, { recursive: true, force: true })
    fs.renameSync(staging, pgDir)
    return true
  } catch {
    fs.rmSync(staging, { recursive: true, force: true })
    return false
  }
}

/**
 * Saves a just-initialised (and cleanly closed) `pgDir` as the template when
 * there is none yet. Best effort: a read-only cache only costs the next fresh
 * start its initdb. Several processes may race here: each copies to its own
 * staging dir and only the first rename wins.
 */
export const saveTemplate = (root: string | undefined, pgDir: string): boolean => {
  if (root === undefined) return false
  const template = templateDir(root)
  if (isInitialized(template)) return true
  const staging = `${template}.staging-${process.pid}-${Date.now()}`
  try {
    fs.mkdirSync(root, { recursive: true })
    fs.cpSync(pgDir, staging, { recursive: true })
    fs.renameSync(staging, template)
    return true
  } catch {
    fs.rmSync(staging, { recursive: true, force: true })
    return isInitialized(template)
  }
}

/** Takes the data dir's lock for this process: a stale lock (dead pid) is taken over, a live one throws. */
export const lockDataDir = (dir: string): string => {
  fs.mkdirSync(dir, { recursive: true })
  const lockFile = path.join(dir, "platform.lock")
  const holder = readLockPid(lockFile)
  if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
    throw new Error(`data dir ${dir} is in use by process ${holder}`)
  }
  fs.writeFileSync(lockFile, String(process.pid))
  return lockFile
}

const readLockPid = (file: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}
