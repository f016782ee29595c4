import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createTestDatabase } from "../support/postgres.ts"
import { spawnPlatform } from "../support/process.ts"
import { startPlatform } from "../support/platform.ts"
import { Option, Redacted } from "effect"

let db: Awaited<ReturnType<typeof createTestDatabase>>
beforeAll(async () => {
  db = await createTestDatabase("foundation")
}, 30_000)
afterAll(() => db.drop())

describe("DATABASE_URL selects a real Postgres", () => {
  test("without pgvector and VECTOR_STORE=required, start-up fails naming the extension", async () => {
    const err = await spawnPlatform({ DATABASE_URL: db.url, VECTOR_STORE: "required" }).then(
      (p) => p.kill().then(() => undefined),
      (e: Error) => e
    )
    expect(err).toBeInstanceOf(Error)
    expect(err?.message).toContain("(pgvector) is not installed")
    expect(err?.message).toContain("VECTOR_STORE=disabled")
    // The connection string never appears in what the process printed.
    expect(err?.message).not.toContain(db.url)
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
