import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * A project's agent tasks in progress are bounded (src/agents/ActiveTasksBound.ts): each holds
 * memory on its node while its model and tool calls run, and a project's tools can be slow on
 * purpose. Past the bound a new task is refused on every edge (REST 429 with Retry-After, A2A
 * JSON-RPC error -32029 with `retryAfterSeconds`) and nothing is stored; other projects are not
 * affected; finished tasks make room again.
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
    return new Response("fetched")
  }
})
const heldUrl = `http://127.0.0.1:${held.port}/held`

beforeAll(async () => {
  platform = await startPlatform(
    { egress: { allow: ["127.0.0.1"] }, tools: { httpFetchAllow: [`127.0.0.1:${held.port}`] } },
    { AGENT_MAX_ACTIVE_TASKS_PER_PROJECT: String(BOUND) }
  )
}, 60_000)

afterAll(async () => {
  gate()
  await platform?.stop()
  held.stop(true)
})

const createAgent = async (user: SignedUp, name: string, tools: Array<string>) => {
  const res = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, name, provider: "local", model: "local", tools })
  })
  expect(res.status).toBe(201)
  return (await res.json()).id as string
}

const execute = (user: SignedUp, agentId: string, task: string, wait: boolean) =>
  fetch(`${platform.baseUrl}/agents/${agentId}/execute`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ task, wait })
  })

const stateOf = async (user: SignedUp, agentId: string, taskId: string) =>
  (await (await fetch(`${platform.baseUrl}/agents/${agentId}/tasks/${taskId}`, { headers: user.headers })).json()).status.state as string

const taskCount = (user: SignedUp) =>
  platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM agent_tasks WHERE project_id = ${user.projectId}`)).then((rows) => rows[0].n)

describe("a project's agent tasks in progress", () => {
  test("are bounded on REST and A2A: refused and not stored past the bound, other projects unaffected", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const fetcher = await createAgent(noisy, "fetcher", ["http_fetch"])
    const echo = await createAgent(quiet, "echo", [])

    // BOUND tasks whose tool call waits on the held server.
    const running: Array<string> = []
    for (let i = 0; i < BOUND; i++) {
      const res = await execute(noisy, fetcher, `fetch ${heldUrl}`, false)
      expect(res.ok).toBe(true)
      running.push((await res.json()).taskId)
    }
    await waitFor(() => hits === BOUND, 20_000)

    const refused = await execute(noisy, fetcher, `fetch ${heldUrl}`, false)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    const error = await refused.json()
    expect(error._tag).toBe("TooManyRequests")
    expect(error.message).toContain(`at most ${BOUND}`)

    const a2a = await fetch(`${platform.baseUrl}/agents/${fetcher}/a2a`, {
      method: "POST",
      headers: { ...noisy.headers, "content-type": "application/json", "a2a-version": "1.0" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "SendMessage",
        params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: "hello" }] } }
      })
    })
    const frame = (await a2a.json()) as { id: number; error?: { code: number; message: string; data?: { retryAfterSeconds: number } } }
    expect(frame.id).toBe(7)
    expect(frame.error?.code).toBe(-32029)
    expect(frame.error?.data?.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    // Neither refused task was stored.
    expect(await taskCount(noisy)).toBe(BOUND)

    // Another project's task runs meanwhile.
    const other = await execute(quiet, echo, "hello there", true)
    expect(other.status).toBe(200)
    expect((await other.json()).state).toBe("completed")

    // The held server answers: the tasks finish, and the project may start tasks again.
    gate()
    for (const id of running) await waitFor(async () => (await stateOf(noisy, fetcher, id)) === "completed", 30_000)
    await Bun.sleep(1_100)
    const again = await execute(noisy, fetcher, `fetch ${heldUrl}`, true)
    expect(again.status).toBe(200)
    expect((await again.json()).state).toBe("completed")
    expect(hits).toBe(BOUND + 1)
  }, 120_000)
})
