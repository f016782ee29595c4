import { afterAll, describe, expect, test } from "bun:test"
import { signUp } from "../support/auth.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { spawnPlatform, waitFor } from "../support/process.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { countingServer } from "./engineHarness.ts"

const tmp = makeTempDir("wf-durability")
// Both processes must accept the token issued by the first one.
const baseEnv = {
  JWT_SECRET_KEY: `wf-test-${crypto.randomUUID()}`,
  WORKFLOW_HTTP_ALLOW: "127.0.0.1",
  // The steps' server listens on loopback: the operator allow-list admits it.
  EGRESS_ALLOW: "127.0.0.1"
}
const embeddedEnv = { ...baseEnv, DATA_DIR: tmp.dir }
const server = countingServer(async (path) => {
  if (path.endsWith("/slow")) await Bun.sleep(4_000)
  return Response.json({ path })
})
afterAll(() => {
  server.stop()
  tmp.remove()
})

/**
 * On the embedded database (inside the killed process) and on PostgreSQL 15 (a server of its
 * own, where step records commit without waiting for the WAL flush: the commit is done when the
 * process dies, so it must still be there).
 */
describe.each(["embedded", "PostgreSQL 15"] as const)("workflow durability (%s)", (database) => {
  test("a run killed mid-step resumes after restart without re-running completed steps", async () => {
    // Paths of their own per database: the server counts hits by path.
    const at = database === "embedded" ? "/embedded" : "/pg"
    const db = database === "embedded" ? undefined : await createTestDatabase("wf_durability")
    const env = db === undefined ? embeddedEnv : { ...baseEnv, DATABASE_URL: db.url }
    // A copy of the initialised template database: no initdb in the child.
    if (db === undefined) await seedDataDir(tmp.dir)
    const first = await spawnPlatform(env)
    let runId = ""
    let headers: Record<string, string> = {}
    try {
      const user = await signUp(first.baseUrl)
      headers = { ...user.headers, "content-type": "application/json" }
      const created = await fetch(`${first.baseUrl}/workflows`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          projectId: user.projectId,
          name: "three-steps",
          definition: {
            steps: [
              { id: "first", type: "http", url: `${server.url}${at}/first` },
              { id: "slow", type: "http", url: `${server.url}${at}/slow` },
              { id: "last", type: "http", url: `${server.url}${at}/last` }
            ],
            output: "{{steps.first.output.body.path}} {{steps.last.output.body.path}}"
          }
        })
      })
      expect(created.status).toBe(201)
      const workflow = (await created.json()) as { id: string }
      const run = await fetch(`${first.baseUrl}/workflows/${workflow.id}/execute`, { method: "POST", headers, body: "{}" })
      expect(run.status).toBe(202)
      runId = ((await run.json()) as { id: string }).id
      // The first step is done and the second is in flight (its server sleeps 4 s).
      await waitFor(() => server.hits(`${at}/slow`) === 1, 30_000)
      expect(server.hits(`${at}/first`)).toBe(1)
    } finally {
      await first.kill("SIGKILL")
    }

    const second = await spawnPlatform(env)
    try {
      let body: { status: string; output: unknown; stepResults: Record<string, { status: string }> } | undefined
      await waitFor(async () => {
        body = await (await fetch(`${second.baseUrl}/workflows/runs/${runId}`, { headers })).json()
        return body?.status === "completed" || body?.status === "failed"
      }, 60_000)
      expect(body?.status).toBe("completed")
      expect(body?.output).toBe(`${at}/first ${at}/last`)
      // The finished step was replayed from the journal, the interrupted one ran again, the rest once.
      expect(server.hits(`${at}/first`)).toBe(1)
      expect(server.hits(`${at}/slow`)).toBe(2)
      expect(server.hits(`${at}/last`)).toBe(1)
    } finally {
      await second.kill("SIGTERM")
      await db?.drop()
    }
  }, 240_000)
})
