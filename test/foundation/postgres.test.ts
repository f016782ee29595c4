import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { ADMIN_URL, createTestDatabase } from "../support/postgres.ts"
import { spawnPlatform } from "../support/process.ts"
import { startPlatform } from "../support/platform.ts"
import { Option, Redacted } from "effect"

let db: Awaited<ReturnType<typeof createTestDatabase>>
beforeAll(async () => {
  db = await createTestDatabase("foundation")
}, 30_000)
afterAll(() => db.drop())

/**
 * A database in which pgvector is missing by construction, whether or not the
 * server has it: owned by a fresh non-superuser role, which may not create an
 * untrusted extension such as vector (trust auth lets the role log in).
 */
const createDatabaseWithoutVector = async () => {
  const role = `novector_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const name = `${role}_db`
  const admin = new SQL(ADMIN_URL)
  await admin.unsafe(`CREATE ROLE ${role} LOGIN NOSUPERUSER`)
  await admin.unsafe(`CREATE DATABASE ${name} OWNER ${role}`)
  await admin.close()
  const url = new URL(ADMIN_URL)
  url.username = role
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const a = new SQL(ADMIN_URL)
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.unsafe(`DROP ROLE IF EXISTS ${role}`)
      await a.close()
    }
  }
}

describe("DATABASE_URL selects a real Postgres", () => {
  test("without pgvector and VECTOR_STORE=required, start-up fails naming the extension", async () => {
    const bare = await createDatabaseWithoutVector()
    try {
      const err = await spawnPlatform({ DATABASE_URL: bare.url, VECTOR_STORE: "required" }).then(
        (p) => p.kill().then(() => undefined),
        (e: Error) => e
      )
      expect(err).toBeInstanceOf(Error)
      expect(err?.message).toContain("(pgvector) is not installed")
      expect(err?.message).toContain("VECTOR_STORE=disabled")
      // The connection string never appears in what the process printed.
      expect(err?.message).not.toContain(bare.url)
      // Start-up stopped at the check, after migrating: the schema exists, the extension does not.
      const check = new SQL(bare.url)
      const [ext] = await check.unsafe("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'vector'")
      const [users] = await check.unsafe("SELECT to_regclass('public.users') IS NOT NULL AS present")
      await check.close()
      expect(ext.n).toBe(0)
      expect(users.present).toBe(true)
    } finally {
      await bare.drop()
    }
  }, 60_000)

  test("with VECTOR_STORE=disabled the platform runs on it and migrates it", async () => {
    const platform = await startPlatform({ databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" })
    try {
      const health = await (await fetch(`${platform.baseUrl}/health`)).json()
      expect(health.database).toMatchObject({ ok: true, embedded: false })
      const tables = await new Bun.SQL(db.url).unsafe(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
      )
      const names = tables.map((r: { table_name: string }) => r.table_name)
      for (const t of ["users", "projects", "agents", "workflow_executions", "cluster_messages"]) {
        expect(names).toContain(t)
      }
    } finally {
      await platform.stop()
    }
  }, 60_000)
})
