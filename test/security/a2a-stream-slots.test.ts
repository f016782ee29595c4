import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * A2A streams a caller holds open are bounded (A2A_MAX_STREAMS_PER_CALLER): each holds a task
 * subscription until it ends, and subscribing to one running task again and again cost the
 * caller nothing else. Past the bound a streaming call answers JSON-RPC -32029 before any
 * stream opens; a stream that ends (the client goes away) gives its slot back; other callers
 * are not affected.
 */
const STREAMS = 2
let platform: TestPlatform
let gate: () => void
const opened = new Promise<void>((resolve) => (gate = resolve))
const held = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  fetch: async () => {
    await opened
    return new Response("fetched")
  }
})
const heldUrl = `http://127.0.0.1:${held.port}/held`

beforeAll(async () => {
  platform = await startPlatform({
    egress: { allow: ["127.0.0.1"] },
    tools: { httpFetchAllow: [`127.0.0.1:${held.port}`] },
    a2aMaxStreamsPerCaller: STREAMS
  })
}, 60_000)

afterAll(async () => {
  gate()
  await platform?.stop()
  held.stop(true)
})

const createAgent = async (user: SignedUp) => {
  const res = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, name: "fetcher", provider: "local", model: "local", tools: ["http_fetch"] })
  })
  expect(res.status).toBe(201)
  return (await res.json()).id as string
}

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
  const reader = res.body!.getReader()
  const { value } = await reader.read()
  const text = new TextDecoder().decode(value)
  return JSON.parse(text.slice(text.indexOf("data: ") + 6, text.indexOf("\n\n")))
}

describe("A2A streams per caller", () => {
  test("are bounded: past the bound -32029 before a stream opens; a closed stream gives its slot back", async () => {
    const user = await signUp(platform.baseUrl)
    const agent = await createAgent(user)
    const first = await streamCall(user, agent, "SendStreamingMessage", message(`fetch ${heldUrl}`))
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
    const otherAgent = await createAgent(other)
    const theirs = await streamCall(other, otherAgent, "SendStreamingMessage", message("hello"))
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
