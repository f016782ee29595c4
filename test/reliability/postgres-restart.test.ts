import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { Effect, ManagedRuntime } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { clusterClientLayer } from "../support/clusterClient.ts"
import { freePort } from "../support/freePort.ts"
import { type PrivatePostgres, startPrivatePostgres } from "../support/privatePostgres.ts"
import { clusterNodeEnv, spawnPlatform, waitFor } from "../support/process.ts"

/**
 * PostgreSQL stopped (`pg_ctl stop -m immediate`, as in a crash) and started again under a
 * runner process with load on it: durable jobs and agents over HTTP, persisted DeliveryProbe
 * messages through a cluster client. While the database is down requests answer 503 with a
 * typed body (no 500, no hang) and /health reports it; once it is back the platform reconnects
 * by itself and every acknowledged job, agent and message is there, each effect applied once.
 * A private server: the machine's shared one on 5432 is never stopped.
 */
let pg: PrivatePostgres
let node: Awaited<ReturnType<typeof spawnPlatform>> | undefined
const makeClient = (url: string) => ManagedRuntime.make(clusterClientLayer(url))
let client: ReturnType<typeof makeClient> | undefined
let user: SignedUp

beforeAll(async () => {
  pg = await startPrivatePostgres()
  node = await spawnPlatform(
    {
      ...clusterNodeEnv({ databaseUrl: pg.url, jwtSecret: "pg-restart-secret-0123456789abcdef0123456789" })(0),
      HTTP_PORT: String(await freePort()),
      RUNNER_PORT: String(await freePort())
    },
    "src/runner.ts"
  )
  await waitFor(async () => (await (await fetch(`${node!.baseUrl}/health`)).json()).cluster.ownedShards === 300, 120_000)
  client = makeClient(pg.url)
  user = await signUp(node.baseUrl)
}, 240_000)

afterAll(async () => {
  await client?.dispose().catch(() => undefined)
  await node?.kill("SIGKILL")
  await pg?.remove()
}, 60_000)

const health = async () => {
  const response = await fetch(`${node!.baseUrl}/health`, { signal: AbortSignal.timeout(15_000) })
  return { status: response.status, body: await response.json() }
}

describe("PostgreSQL restarted under load", () => {
  test("503 while it is down, reconnects by itself, every acknowledged job / agent / message processed once", async () => {
    const json = { ...user.headers, "content-type": "application/json" }
    const statuses = new Map<number, number>()
    const badBodies: Array<string> = []
    const ackedJobs: Array<string> = []
    const ackedAgents: Array<string> = []
    const ackedMessages: Array<string> = []
    let seq = 0
    let running = true

    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${node!.baseUrl}${path}`, {
        method: "POST",
        headers: json,
        body: JSON.stringify(body),
        // A hang is a failure of the test, not a wait: fail-fast is what is checked.
        signal: AbortSignal.timeout(20_000)
      })
      const text = await response.text()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      if (response.status >= 500) badBodies.push(text)
      return response.status
    }
    const httpWorker = async () => {
      while (running) {
        const i = seq++
        if ((await post("/system/jobs", { jobId: `job-${i}`, durationMs: 0, projectId: user.projectId })) === 202) {
          ackedJobs.push(`job-${i}`)
        }
        if (i % 3 === 0 && (await post("/agents", { projectId: user.projectId, name: `agent-${i}`, systemPrompt: "be brief" })) === 201) {
          ackedAgents.push(`agent-${i}`)
        }
        await Bun.sleep(20)
      }
    }
    const probeWorker = async () => {
      while (running) {
        const messageId = `m-${seq++}`
        const sent = await client!.runPromise(
          Effect.gen(function*() {
            const probe = yield* DeliveryProbe.client
            // discard: answered once the message is persisted, which is the acknowledgement.
            yield* probe(`e-${messageId.length % 7}`).Apply({ messageId, amount: 1 }, { discard: true })
          }).pipe(Effect.timeout("5 seconds"), Effect.isSuccess)
        ).catch(() => false)
        if (sent) ackedMessages.push(messageId)
        else await Bun.sleep(200)
      }
    }
    const workers = [httpWorker(), httpWorker(), probeWorker(), probeWorker()]
    try {
      await waitFor(() => ackedJobs.length >= 20 && ackedMessages.length >= 20, 60_000)

      // A burst acknowledged just before the stop, to two entities (which run their messages one
      // at a time): stored, most still queued or waiting to store their reply when the database
      // goes away. Each must still be applied once it is back (a reply that could not be stored
      // within the entity manager's few tries left its request stuck, never answered).
      const burst = await client!.runPromise(Effect.gen(function*() {
        const probe = yield* DeliveryProbe.client
        return yield* Effect.forEach(
          Array.from({ length: 400 }, (_, i) => `burst-${i}`),
          (messageId) =>
            probe(`burst-${messageId.length % 2}`).Apply({ messageId, amount: 1 }, { discard: true }).pipe(
              Effect.timeout("5 seconds"),
              Effect.isSuccess,
              Effect.map((sent) => (sent ? [messageId] : []))
            ),
          { concurrency: "unbounded" }
        )
      }))
      ackedMessages.push(...burst.flat())
      expect(burst.flat().length).toBeGreaterThan(0)
      await pg.stopImmediate()
      const acceptedBeforeStop = ackedJobs.length
      // Down: /health says so, and requests that need the database answer 503 fast.
      await waitFor(async () => {
        const h = await health()
        return h.status === 503 && h.body.database.ok === false
      }, 30_000)
      await waitFor(() => (statuses.get(503) ?? 0) >= 5, 30_000)
      const down = await fetch(`${node!.baseUrl}/system/jobs`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ jobId: "while-down", durationMs: 0, projectId: user.projectId }),
        signal: AbortSignal.timeout(20_000)
      })
      expect(down.status).toBe(503)
      expect(down.headers.get("retry-after")).toBe("1")
      const downBody = await down.json()
      expect(downBody._tag).toBe("ServiceUnavailable")
      expect(typeof downBody.message).toBe("string")

      await pg.start()
      // Back: the platform reconnects by itself and accepts new work.
      await waitFor(async () => (await health()).status === 200, 60_000)
      const seenAfterRestart = ackedJobs.length
      await waitFor(() => ackedJobs.length >= seenAfterRestart + 20 && ackedMessages.length > 0, 60_000)
      expect(acceptedBeforeStop).toBeGreaterThan(0)
    } finally {
      running = false
      await Promise.all(workers)
    }

    // No 500 at any point: each answer was a success or a typed 503.
    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([])
    for (const body of badBodies) {
      expect(JSON.parse(body)._tag).toBe("ServiceUnavailable")
      expect(body).not.toContain("    at ")
      expect(body).not.toContain(pg.url)
      expect(body).not.toContain(String(pg.port))
    }

    const sql = new SQL(pg.url)
    try {
      // Every acknowledged job ran to completion, each once (one row per job).
      await waitFor(async () => {
        const [row] = await sql`SELECT count(*)::int AS n FROM durable_jobs WHERE job_id IN ${sql(ackedJobs)} AND status = 'completed'`
        return row.n === ackedJobs.length
      }, 60_000)
      const [jobRows] = await sql`SELECT count(*)::int AS n FROM durable_jobs WHERE job_id IN ${sql(ackedJobs)}`
      expect(jobRows.n).toBe(ackedJobs.length)
      // Every acknowledged agent exists, once.
      const agents = await sql`SELECT name FROM agents WHERE project_id = ${user.projectId}`
      const names = agents.map((a: { name: string }) => a.name)
      for (const name of ackedAgents) expect(names.filter((n: string) => n === name).length).toBe(1)
      // Every acknowledged persisted message applied its effect once; totals agree with the effects.
      await waitFor(async () => {
        const [row] = await sql`SELECT count(*)::int AS n FROM delivery_probe_effects WHERE message_id IN ${sql(ackedMessages)}`
        return row.n === ackedMessages.length
      }, 90_000)
      const [effects] = await sql`SELECT count(*)::int AS n, coalesce(sum(amount), 0)::int AS total FROM delivery_probe_effects`
      const [totals] = await sql`SELECT coalesce(sum(applied), 0)::int AS applied, coalesce(sum(total), 0)::int AS total FROM delivery_probe_totals`
      expect(totals.applied).toBe(effects.n)
      expect(totals.total).toBe(effects.total)
    } finally {
      await sql.close()
    }
  }, 300_000)
})
