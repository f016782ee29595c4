import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * A project's workflow runs in progress are bounded (src/workflows/ActiveRunsBound.ts): each
 * holds memory on its node while its steps wait, so runs whose http step waits on a server that
 * never answers would otherwise pile up at the project's rate limit. Past the bound starting a
 * run answers 429 with Retry-After and nothing is stored; runs suspended in a long `wait` are
 * `waiting` and do not count; other projects are not affected; finished runs make room again.
 */
const BOUND = 3
let platform: TestPlatform
let gate: () => void
const opened = new Promise<void>((resolve) => (gate = resolve))
let hits = 0
const held = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  fetch: async () => {
    hits++
    await opened
    return Response.json({ ok: true })
  }
})
const heldUrl = `http://127.0.0.1:${held.port}/held`

beforeAll(async () => {
  platform = await startPlatform({
    egress: { allow: ["127.0.0.1"] },
    workflows: { httpAllow: [`127.0.0.1:${held.port}`], maxActiveRunsPerProject: BOUND }
  })
}, 60_000)

afterAll(async () => {
  gate()
  await platform?.stop()
  held.stop(true)
})

const createWorkflow = async (user: SignedUp, name: string, steps: Array<unknown>) => {
  const res = await fetch(`${platform.baseUrl}/workflows`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, name, definition: { steps } })
  })
  expect(res.status).toBe(201)
  return (await res.json()).id as string
}

const execute = (user: SignedUp, workflowId: string, idempotencyKey?: string) =>
  fetch(`${platform.baseUrl}/workflows/${workflowId}/execute`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify(idempotencyKey === undefined ? {} : { idempotencyKey })
  })

const statusOf = async (user: SignedUp, runId: string) =>
  (await (await fetch(`${platform.baseUrl}/workflows/runs/${runId}`, { headers: user.headers })).json()).status as string

const started = async (user: SignedUp, workflowId: string) => {
  const res = await execute(user, workflowId)
  expect(res.status).toBe(202)
  return (await res.json()).id as string
}

describe("a project's workflow runs in progress", () => {
  test("are bounded: past the bound 429 and nothing stored; waiting runs and other projects unaffected", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const sleeper = await createWorkflow(noisy, "sleeper", [{ id: "nap", type: "wait", durationMs: 3_600_000 }])
    const stuck = await createWorkflow(noisy, "stuck", [{ id: "call", type: "http", url: heldUrl }])
    const quick = await createWorkflow(quiet, "quick", [{ id: "v", type: "set", values: { a: 1 } }])

    // Two runs suspended in an hour-long wait: waiting, so not in progress.
    const sleepers = [await started(noisy, sleeper), await started(noisy, sleeper)]
    for (const id of sleepers) await waitFor(async () => (await statusOf(noisy, id)) === "waiting", 20_000)

    // BOUND runs whose step waits on the held server fit beside them; one more does not.
    const stuckRuns: Array<string> = []
    for (let i = 0; i < BOUND; i++) stuckRuns.push(await started(noisy, stuck))
    const refused = await execute(noisy, stuck, "refused-key")
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    const error = await refused.json()
    expect(error._tag).toBe("TooManyRequests")
    expect(error.message).toContain(`at most ${BOUND}`)

    // Another project starts and finishes a run meanwhile.
    const other = await started(quiet, quick)
    await waitFor(async () => (await statusOf(quiet, other)) === "completed", 20_000)

    // The held server answers: the runs finish, and the project may start runs again.
    await waitFor(() => hits === BOUND, 20_000)
    gate()
    for (const id of stuckRuns) await waitFor(async () => (await statusOf(noisy, id)) === "completed", 30_000)
    await Bun.sleep(1_100)
    const again = await execute(noisy, stuck, "refused-key")
    expect(again.status).toBe(202)
    const run = await again.json()
    await waitFor(async () => (await statusOf(noisy, run.id)) === "completed", 20_000)
    // The refused start stored nothing: its key's first run is this one, and it made one call.
    expect(hits).toBe(BOUND + 1)
    for (const id of sleepers) expect(await statusOf(noisy, id)).toBe("waiting")
  }, 120_000)
})
