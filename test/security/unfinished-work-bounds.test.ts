import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Document, Packer, Paragraph } from "docx"
import { Effect } from "effect"
import { startRemoteAgent } from "../orchestrator/remoteAgent.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * What a project (or a caller) may hold unfinished on a node is bounded: orchestrator deliveries
 * pending, workflow runs and agent tasks in progress (src/kernel/BacklogBound.ts), open A2A
 * streams. Each holds memory while it waits, and a tenant's targets can be slow on purpose (an
 * agent, an http step, a tool that never answers), so without a bound one project could pile
 * them up at its rate limit. Past a bound the request is refused (429 with Retry-After, A2A
 * JSON-RPC -32029) and nothing is stored; other projects are not affected; work that finishes
 * makes room again (a project at its bound is counted again at most once a second). So are a
 * project's uploads being read and extracted, each holding its bytes while it waits for one of
 * the node's extraction workers.
 */
const PENDING = 5
const RUNS = 3
const TASKS = 3
const STREAMS = 2
const UPLOADS = 1
let platform: TestPlatform

/** An HTTP server that holds every request until `open()`. */
const heldServer = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  let hits = 0
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: async () => {
      hits++
      await opened
      return Response.json({ ok: true })
    }
  })
  return { url: `http://127.0.0.1:${server.port}/held`, port: server.port, hits: () => hits, open, stop: () => server.stop(true) }
}

let agentGate!: () => void
const agentOpened = new Promise<void>((resolve) => (agentGate = resolve))
let agentReceived = 0
const heldAgent = await startRemoteAgent({
  name: "Held",
  reply: async () => {
    agentReceived++
    await agentOpened
    return "late"
  }
})
const echoAgent = await startRemoteAgent({ name: "Echo" })
const forRuns = heldServer()
const forTasks = heldServer()
const forStreams = heldServer()

beforeAll(async () => {
  platform = await startPlatform({
    egress: { allow: ["127.0.0.1"] },
    workflows: { httpAllow: [`127.0.0.1:${forRuns.port}`], maxActiveRunsPerProject: RUNS },
    tools: { httpFetchAllow: [`127.0.0.1:${forTasks.port}`, `127.0.0.1:${forStreams.port}`] },
    a2aMaxStreamsPerCaller: STREAMS
  }, {
    ORCHESTRATOR_MAX_PENDING_PER_PROJECT: String(PENDING),
    AGENT_MAX_ACTIVE_TASKS_PER_PROJECT: String(TASKS),
    RAG_EXTRACT_MAX_PENDING_PER_PROJECT: String(UPLOADS)
  })
}, 60_000)

afterAll(async () => {
  agentGate()
  for (const server of [forRuns, forTasks, forStreams]) server.open()
  await heldAgent.close()
  await echoAgent.close()
  await platform?.stop()
  for (const server of [forRuns, forTasks, forStreams]) server.stop()
})

const post = (user: SignedUp, path: string, body: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify(body)
  })

const getJson = async (user: SignedUp, path: string) => (await fetch(`${platform.baseUrl}${path}`, { headers: user.headers })).json()

/** A 429 as the platform answers one: Retry-After, TooManyRequests naming the bound. */
const expectRefused = async (res: Response, bound: number) => {
  expect(res.status).toBe(429)
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
  const error = await res.json()
  expect(error._tag).toBe("TooManyRequests")
  expect(error.message).toContain(`at most ${bound}`)
}

const createAgent = async (user: SignedUp, name: string, tools: Array<string>) => {
  const res = await post(user, "/agents", { projectId: user.projectId, name, provider: "local", model: "local", tools })
  expect(res.status).toBe(201)
  return (await res.json()).id as string
}

describe("a project's pending orchestrator deliveries", () => {
  const register = async (user: SignedUp, cardUrl: string) => {
    const res = await post(user, "/orchestrator/register", { projectId: user.projectId, cardUrl })
    expect(res.status).toBe(201)
    return (await res.json()).id as string
  }
  const message = (user: SignedUp, to: string, text: string, mode: "sync" | "async", idempotencyKey?: string) =>
    post(user, "/orchestrator/message", { projectId: user.projectId, to, text, mode, ...(idempotencyKey ? { idempotencyKey } : {}) })

  test("are bounded: past the bound 429 and nothing stored, other projects unaffected, room again once they finish", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const held = await register(noisy, heldAgent.cardUrl)
    const echo = await register(quiet, echoAgent.cardUrl)

    // One at a time so each is counted before the next is checked: exactly PENDING accepted.
    const accepted: Array<string> = []
    for (let i = 0; i < PENDING; i++) {
      const res = await message(noisy, held, `n${i}`, "async")
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.status).toBe("pending")
      accepted.push(body.deliveryId)
    }
    await expectRefused(await message(noisy, held, "one too many", "async", "refused-key"), PENDING)

    // Another project's message goes through while the first is at its bound.
    const other = await message(quiet, echo, "hello", "sync")
    expect(other.status).toBe(200)
    expect((await other.json()).status).toBe("delivered")

    // The agent answers: the held deliveries finish, and the project may send again.
    agentGate()
    for (const id of accepted) {
      await waitFor(async () => (await getJson(noisy, `/orchestrator/deliveries/${id}`)).status === "delivered", 30_000)
    }
    await Bun.sleep(1_100)
    const again = await message(noisy, held, "one too many", "sync", "refused-key")
    expect(again.status).toBe(200)
    expect((await again.json()).status).toBe("delivered")
    // The refused message was never stored: the key's first stored message is this one, sent once.
    expect(agentReceived).toBe(PENDING + 1)
  }, 90_000)
})

describe("a project's workflow runs in progress", () => {
  const createWorkflow = async (user: SignedUp, name: string, steps: Array<unknown>) => {
    const res = await post(user, "/workflows", { projectId: user.projectId, name, definition: { steps } })
    expect(res.status).toBe(201)
    return (await res.json()).id as string
  }
  const execute = (user: SignedUp, workflowId: string, idempotencyKey?: string) =>
    post(user, `/workflows/${workflowId}/execute`, idempotencyKey === undefined ? {} : { idempotencyKey })
  const statusOf = async (user: SignedUp, runId: string) => (await getJson(user, `/workflows/runs/${runId}`)).status as string
  const started = async (user: SignedUp, workflowId: string) => {
    const res = await execute(user, workflowId)
    expect(res.status).toBe(202)
    return (await res.json()).id as string
  }

  test("are bounded: past the bound 429 and nothing stored; waiting runs and other projects unaffected", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const sleeper = await createWorkflow(noisy, "sleeper", [{ id: "nap", type: "wait", durationMs: 3_600_000 }])
    const stuck = await createWorkflow(noisy, "stuck", [{ id: "call", type: "http", url: forRuns.url }])
    const quick = await createWorkflow(quiet, "quick", [{ id: "v", type: "set", values: { a: 1 } }])

    // Two runs suspended in an hour-long wait: waiting, so not in progress.
    const sleepers = [await started(noisy, sleeper), await started(noisy, sleeper)]
    for (const id of sleepers) await waitFor(async () => (await statusOf(noisy, id)) === "waiting", 20_000)

    // RUNS runs whose step waits on the held server fit beside them; one more does not.
    const stuckRuns: Array<string> = []
    for (let i = 0; i < RUNS; i++) stuckRuns.push(await started(noisy, stuck))
    await expectRefused(await execute(noisy, stuck, "refused-key"), RUNS)

    // Another project starts and finishes a run meanwhile.
    const other = await started(quiet, quick)
    await waitFor(async () => (await statusOf(quiet, other)) === "completed", 20_000)

    // The held server answers: the runs finish, and the project may start runs again.
    await waitFor(() => forRuns.hits() === RUNS, 20_000)
    forRuns.open()
    for (const id of stuckRuns) await waitFor(async () => (await statusOf(noisy, id)) === "completed", 30_000)
    await Bun.sleep(1_100)
    const again = await execute(noisy, stuck, "refused-key")
    expect(again.status).toBe(202)
    const run = await again.json()
    await waitFor(async () => (await statusOf(noisy, run.id)) === "completed", 20_000)
    // The refused start stored nothing: its key's first run is this one, and it made one call.
    expect(forRuns.hits()).toBe(RUNS + 1)
    for (const id of sleepers) expect(await statusOf(noisy, id)).toBe("waiting")
  }, 120_000)
})

describe("a project's agent tasks in progress", () => {
  const execute = (user: SignedUp, agentId: string, task: string, wait: boolean) => post(user, `/agents/${agentId}/execute`, { task, wait })
  const stateOf = async (user: SignedUp, agentId: string, taskId: string) =>
    (await getJson(user, `/agents/${agentId}/tasks/${taskId}`)).status.state as string
  const taskCount = (user: SignedUp) =>
    platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM agent_tasks WHERE project_id = ${user.projectId}`)).then((rows) => rows[0].n)

  test("are bounded on REST and A2A: refused and not stored past the bound, other projects unaffected", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const fetcher = await createAgent(noisy, "fetcher", ["http_fetch"])
    const echo = await createAgent(quiet, "echo", [])

    // TASKS tasks whose tool call waits on the held server (the offline model fetches a URL it is given).
    const running: Array<string> = []
    for (let i = 0; i < TASKS; i++) {
      const res = await execute(noisy, fetcher, `fetch ${forTasks.url}`, false)
      expect(res.ok).toBe(true)
      running.push((await res.json()).taskId)
    }
    await waitFor(() => forTasks.hits() === TASKS, 20_000)
    await expectRefused(await execute(noisy, fetcher, `fetch ${forTasks.url}`, false), TASKS)

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
    const frame = (await a2a.json()) as { id: number; error?: { code: number; data?: { retryAfterSeconds: number } } }
    expect(frame.id).toBe(7)
    expect(frame.error?.code).toBe(-32029)
    expect(frame.error?.data?.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    // Neither refused task was stored.
    expect(await taskCount(noisy)).toBe(TASKS)

    // Another project's task runs meanwhile.
    const other = await execute(quiet, echo, "hello there", true)
    expect(other.status).toBe(200)
    expect((await other.json()).state).toBe("completed")

    // The held server answers: the tasks finish, and the project may start tasks again.
    forTasks.open()
    for (const id of running) await waitFor(async () => (await stateOf(noisy, fetcher, id)) === "completed", 30_000)
    await Bun.sleep(1_100)
    const again = await execute(noisy, fetcher, `fetch ${forTasks.url}`, true)
    expect(again.status).toBe(200)
    expect((await again.json()).state).toBe("completed")
    expect(forTasks.hits()).toBe(TASKS + 1)
  }, 120_000)
})

describe("a caller's open A2A streams", () => {
  /** A streaming call held open until `abort`; answers the response (its headers are in). */
  const streamCall = async (user: SignedUp, agentId: string, method: string, params: unknown) => {
    const controller = new AbortController()
    const res = await fetch(`${platform.baseUrl}/agents/${agentId}/a2a`, {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/json", "a2a-version": "1.0" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: controller.signal
    })
    return { res, abort: () => controller.abort() }
  }
  const message = (text: string) => ({ message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text }] } })
  const firstEvent = async (res: Response) => {
    const { value } = await res.body!.getReader().read()
    const text = new TextDecoder().decode(value)
    return JSON.parse(text.slice(text.indexOf("data: ") + 6, text.indexOf("\n\n")))
  }

  test("are bounded: past the bound -32029 before a stream opens; a closed stream gives its slot back", async () => {
    const user = await signUp(platform.baseUrl)
    const agent = await createAgent(user, "fetcher", ["http_fetch"])
    const first = await streamCall(user, agent, "SendStreamingMessage", message(`fetch ${forStreams.url}`))
    expect(first.res.headers.get("content-type")).toContain("text/event-stream")
    const taskId = (await firstEvent(first.res)).result.task.id as string
    // A second stream on the same (running) task.
    const second = await streamCall(user, agent, "SubscribeToTask", { id: taskId })
    expect(second.res.headers.get("content-type")).toContain("text/event-stream")

    const third = await streamCall(user, agent, "SubscribeToTask", { id: taskId })
    expect(third.res.headers.get("content-type")).toContain("application/json")
    const refused = (await third.res.json()) as { error: { code: number; data: { retryAfterSeconds: number } } }
    expect(refused.error.code).toBe(-32029)
    expect(refused.error.data.retryAfterSeconds).toBeGreaterThanOrEqual(1)

    // Another caller is not affected.
    const other = await signUp(platform.baseUrl)
    const theirs = await streamCall(other, await createAgent(other, "echo", []), "SendStreamingMessage", message("hello"))
    expect(theirs.res.headers.get("content-type")).toContain("text/event-stream")
    theirs.abort()

    // The client goes away from one stream: its slot comes back.
    second.abort()
    let again: Awaited<ReturnType<typeof streamCall>> | undefined
    await waitFor(async () => {
      again?.abort()
      again = await streamCall(user, agent, "SubscribeToTask", { id: taskId })
      return again.res.headers.get("content-type")?.includes("text/event-stream") === true
    }, 10_000)
    again?.abort()
    first.abort()
  }, 60_000)
})

describe("a project's uploads being processed", () => {
  const DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
  const upload = (user: SignedUp, filename: string, type: string, bytes: Uint8Array) => {
    const form = new FormData()
    form.append("projectId", user.projectId)
    form.append("file", new Blob([bytes.slice().buffer as ArrayBuffer], { type }), filename)
    return fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: user.headers, body: form })
  }
  const text = (words: string) => new TextEncoder().encode(`# Notes\n\n${words}\n`)

  test("are bounded: past the bound 429 while one is extracted, other projects unaffected, room again after", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    // A document that keeps an extraction worker busy for a while (3,000 paragraphs).
    const heavy = new Uint8Array(await Packer.toBuffer(new Document({
      sections: [{ children: Array.from({ length: 3_000 }, (_, i) => new Paragraph({ text: `paragraph ${i}` })) }]
    })))
    const first = upload(noisy, "heavy.docx", DOCX_TYPE, heavy)
    // Sent while the heavy one is being extracted (it holds the project's one slot for seconds).
    await Bun.sleep(500)
    const more = Promise.all(Array.from({ length: 3 }, (_, i) => upload(noisy, `n${i}.md`, "text/markdown", text(`note ${i}`))))
    const other = upload(quiet, "theirs.md", "text/markdown", text("their note"))
    const noisyAnswers = [await first, ...(await more)]
    expect((await other).status).toBe(202)
    const refused = noisyAnswers.filter((r) => r.status === 429)
    expect(refused.length).toBeGreaterThan(0)
    expect(noisyAnswers.some((r) => r.status === 202)).toBe(true)
    expect(noisyAnswers.every((r) => r.status === 202 || r.status === 429)).toBe(true)
    await expectRefused(refused[0], UPLOADS)
    // Once the heavy one is done, the project's next upload goes through.
    expect((await upload(noisy, "later.md", "text/markdown", text("a later note"))).status).toBe(202)
  }, 60_000)
})
