import { afterAll, describe, expect, test } from "bun:test"
import { Context, Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import pg from "pg"
import { EmbeddedPostgres } from "../../src/db/EmbeddedPostgres.ts"
import { defaultTemplateRoot, templateRootFrom } from "../../src/config/EmbeddedTemplateRoot.ts"
import { templateDir } from "../../src/db/embedded/DataDir.ts"
import { startEarly, takeEarly } from "../../src/db/embedded/EarlyStart.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Issue #22: a first start copies a pre-initialised data dir (made once per
 * machine) instead of running initdb, and `bun run dev` opens the database
 * on its own thread before the platform's modules load (main.ts).
 */
const tmp = makeTempDir("embedded-template")
// Several data dirs of ~40 MB each.
afterAll(() => tmp.remove(), 60_000)

const templateRoot = path.join(tmp.dir, "cache")
const dir = (name: string) => path.join(tmp.dir, name)

/** Opens the embedded database on `dataDir` and runs one query through its password-protected port. */
const openAndQuery = (dataDir: string, root: string | undefined) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pgInfo = yield* Layer.build(
      EmbeddedPostgres.layer({ dataDir, maxConnections: 1, sharedBuffers: "16MB", templateDir: root })
    ).pipe(Effect.map(Context.get(EmbeddedPostgres)))
    return yield* Effect.promise(() => queryOne(pgInfo.port, Redacted.value(pgInfo.password)))
  })))

const queryOne = async (port: number, password: string) => {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", password })
  await client.connect()
  try {
    return (await client.query<{ n: number }>("SELECT 41 + 1 AS n")).rows[0]?.n
  } finally {
    await client.end()
  }
}

describe("embedded database: data dir template", () => {
  test("the first initdb saves a template; a later fresh data dir is a copy of it", async () => {
    expect(await openAndQuery(dir("first"), templateRoot)).toBe(42)
    const template = templateDir(templateRoot)
    expect(fs.existsSync(path.join(template, "PG_VERSION"))).toBe(true)
    // A file only the template has tells a copy from a new initdb.
    fs.writeFileSync(path.join(template, "from-template"), "yes")
    expect(await openAndQuery(dir("second"), templateRoot)).toBe(42)
    expect(fs.existsSync(path.join(dir("second"), "pg", "from-template"))).toBe(true)
    // The template is left as it was (not moved into the data dir).
    expect(fs.existsSync(path.join(template, "from-template"))).toBe(true)
  }, 300_000)

  test("EMBEDDED_PG_TEMPLATE_DIR=off (or empty) turns the template off; unset means the per-user cache", () => {
    expect(templateRootFrom("off")).toBeUndefined()
    expect(templateRootFrom("")).toBeUndefined()
    expect(templateRootFrom(undefined)).toBe(defaultTemplateRoot())
    expect(defaultTemplateRoot({ XDG_CACHE_HOME: "/var/cache/u" })).toBe("/var/cache/u/agent-platform")
  })

  test("a database opened at process start is handed over once for its own settings", async () => {
    const env = { DATA_DIR: dir("early"), EMBEDDED_PG_TEMPLATE_DIR: templateRoot }
    startEarly(env)
    // The lock is taken at once: no second process can open the dir meanwhile.
    expect(fs.readFileSync(path.join(dir("early"), "platform.lock"), "utf8")).toBe(String(process.pid))
    const early = await takeEarly(path.join(dir("early"), "pg"), "16MB")
    expect(early).toBeDefined()
    expect(await takeEarly(path.join(dir("early"), "pg"), "16MB")).toBeUndefined()
    const opened = await early!.opened
    expect(opened.type).toBe("ready")
    expect(await queryOne(opened.type === "ready" ? opened.port : 0, early!.password)).toBe(42)
    early!.worker.postMessage({ type: "stop" })
    await Bun.sleep(500)
    early!.worker.terminate()
  }, 300_000)

  test("a database opened at process start for other settings is closed and its lock released", async () => {
    startEarly({ DATA_DIR: dir("other"), EMBEDDED_PG_TEMPLATE_DIR: templateRoot })
    expect(fs.existsSync(path.join(dir("other"), "platform.lock"))).toBe(true)
    expect(await takeEarly(path.join(dir("other"), "pg"), "32MB")).toBeUndefined()
    expect(fs.existsSync(path.join(dir("other"), "platform.lock"))).toBe(false)
    // The dir opens normally afterwards.
    expect(await openAndQuery(dir("other"), templateRoot)).toBe(42)
  }, 300_000)

  test("a setting that selects a real Postgres starts nothing early", async () => {
    startEarly({ DATA_DIR: dir("remote"), DATABASE_URL: "postgres://127.0.0.1:5432/postgres" })
    expect(fs.existsSync(dir("remote"))).toBe(false)
    expect(await takeEarly(path.join(dir("remote"), "pg"), "16MB")).toBeUndefined()
  })
})
