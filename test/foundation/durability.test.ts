import { afterAll, describe, expect, test } from "bun:test"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { spawnPlatform, waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

const tmp = makeTempDir("durability")
// Both processes accept the same service token (the RPC routes need credentials).
const serviceToken = `svc-${crypto.randomUUID()}`
const auth = { authorization: `Bearer ${serviceToken}` }
afterAll(() => tmp.remove())

const getJob = async (baseUrl: string, jobId: string) => {
  const res = await fetch(`${baseUrl}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/ndjson", ...auth },
    body: JSON.stringify({ _tag: "Request", id: "1", tag: "GetJob", payload: { jobId }, headers: [] }) + "\n"
  })
  const exit = JSON.parse((await res.text()).trim().split("\n")[0]).exit
  return exit._tag === "Success" ? (exit.value as { attempts: number; status: string }) : undefined
}

const submitJob = (baseUrl: string, jobId: string, durationMs: number) =>
  fetch(`${baseUrl}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/ndjson", ...auth },
    body: JSON.stringify({ _tag: "Request", id: "1", tag: "SubmitJob", payload: { jobId, durationMs }, headers: [] }) + "\n"
  })

describe("persisted entity messages survive a crash", () => {
  test("kill -9 mid-work, restart: the job completes and its data is still there", async () => {
    await seedDataDir(tmp.dir)
    const env = { DATA_DIR: tmp.dir, SERVICE_AUTH_TOKEN: serviceToken }
    const first = await spawnPlatform(env)
    const jobId = `crash-${crypto.randomUUID()}`
    try {
      expect((await submitJob(first.baseUrl, jobId, 4_000)).status).toBe(200)
      // The entity has started the work (attempt 1 recorded) but cannot have finished it.
      await waitFor(async () => (await getJob(first.baseUrl, jobId))?.status === "running", 10_000)
    } finally {
      await first.kill("SIGKILL")
    }

    const second = await spawnPlatform(env)
    try {
      await waitFor(async () => (await getJob(second.baseUrl, jobId))?.status === "completed", 30_000)
      const job = await getJob(second.baseUrl, jobId)
      // Re-delivered after the restart: the in-flight message re-runs from the start.
      expect(job?.attempts).toBe(2)
    } finally {
      await second.kill("SIGTERM")
    }
  }, 90_000)
})
