import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

setDefaultTimeout(60_000)

/**
 * WebSocket work is bounded and follows the caller's credentials: `/ws/chat` runs at most
 * WS_MAX_CHATS_PER_SOCKET chats per socket and WS_MAX_SOCKETS_PER_USER sockets per caller;
 * `/ws/events` stops delivering a project's events once the member is removed and closes
 * when the session ends.
 */

/** An OpenAI-compatible model that never answers: chats stay in flight while the test looks. */
const silentModel = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => new Promise<Response>(() => {})
})

let platform: TestPlatform
let alice: SignedUp
let slowAgent: string
let fastAgent: string

beforeAll(async () => {
  // LlmConfig reads the environment when the platform starts; restore it right after.
  const saved = process.env.OPENAI_BASE_URL
  process.env.OPENAI_BASE_URL = `http://127.0.0.1:${silentModel.port}/v1`
  try {
    platform = await startPlatform({ wsMaxChatsPerSocket: 2, wsMaxSocketsPerUser: 2 })
  } finally {
    if (saved === undefined) delete process.env.OPENAI_BASE_URL
    else process.env.OPENAI_BASE_URL = saved
  }
  alice = await signUp(platform.baseUrl)
  const create = async (body: Record<string, unknown>) => {
    const res = await fetch(`${platform.baseUrl}/agents`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body: JSON.stringify({ projectId: alice.projectId, systemPrompt: "be brief", ...body })
    })
    expect(res.status).toBe(201)
    return ((await res.json()) as { id: string }).id
  }
  slowAgent = await create({ name: "slow", provider: "openai", model: "gpt-4o-mini" })
  fastAgent = await create({ name: "fast" })
}, 90_000)
afterAll(async () => {
  // The model first: chats still waiting on it end with an error instead of holding the
  // platform's stop for the cluster's drain timeout (15 s).
  silentModel.stop(true)
  await platform?.stop()
})

interface Client {
  readonly ws: WebSocket
  readonly frames: Array<Record<string, unknown>>
  readonly closed: Promise<CloseEvent>
}

/** A socket recording every frame; resolves once `greeting` arrived (or it closed first). */
const connect = (path: string, token: string, greeting: string) =>
  new Promise<Client>((resolve) => {
    const ws = new WebSocket(`${platform.wsUrl}${path}?access_token=${token}`)
    const frames: Array<Record<string, unknown>> = []
    const closed = new Promise<CloseEvent>((onClose) => {
      ws.onclose = (e) => {
        onClose(e)
        resolve(client)
      }
    })
    const client: Client = { ws, frames, closed }
    ws.onmessage = (m) => {
      const frame = JSON.parse(String(m.data)) as Record<string, unknown>
      frames.push(frame)
      if (frame.type === greeting) resolve(client)
    }
  })

describe("/ws/chat limits", () => {
  test("a socket runs at most 2 chats at once: the others get a TooManyChats error frame", async () => {
    const chat = await connect("/ws/chat", alice.token, "ready")
    for (let i = 0; i < 6; i++) chat.ws.send(JSON.stringify({ type: "chat", sessionId: `s${i}`, agentId: slowAgent, text: "hi" }))
    const started = () => new Set(chat.frames.filter((f) => f.type === "task").map((f) => f.sessionId)).size
    await waitFor(async () => chat.frames.filter((f) => f.code === "TooManyChats").length === 4 && started() === 2, 10_000)
    await Bun.sleep(200)
    expect(chat.frames.filter((f) => f.code === "TooManyChats").length).toBe(4)
    expect(started()).toBe(2)
    // The socket itself stays usable.
    chat.ws.send(JSON.stringify({ type: "ping" }))
    await waitFor(async () => chat.frames.some((f) => f.type === "pong"), 5_000)
    chat.ws.close()
    await chat.closed
  })

  test("a chat frame with a NUL character is refused with an error frame", async () => {
    const chat = await connect("/ws/chat", alice.token, "ready")
    chat.ws.send(JSON.stringify({ type: "chat", sessionId: "nul", agentId: fastAgent, text: "a\u0000b" }))
    await waitFor(async () => chat.frames.some((f) => f.type === "error"), 5_000)
    expect(chat.frames.find((f) => f.type === "error")).toMatchObject({ message: "NUL characters (\\u0000) are not allowed in a message" })
    expect(chat.frames.some((f) => f.type === "task")).toBe(false)
    chat.ws.close()
    await chat.closed
  })

  test("a finished chat frees its slot", async () => {
    const chat = await connect("/ws/chat", alice.token, "ready")
    for (let round = 0; round < 3; round++) {
      chat.ws.send(JSON.stringify({ type: "chat", sessionId: `f${round}a`, agentId: fastAgent, text: "hi" }))
      chat.ws.send(JSON.stringify({ type: "chat", sessionId: `f${round}b`, agentId: fastAgent, text: "hi" }))
      await waitFor(async () => chat.frames.filter((f) => f.type === "done" && String(f.sessionId).startsWith(`f${round}`)).length === 2, 20_000)
    }
    expect(chat.frames.filter((f) => f.code === "TooManyChats")).toEqual([])
    chat.ws.close()
    await chat.closed
  })

  test("a caller holds at most 2 sockets: the third is closed with 1013; closing one frees a place", async () => {
    const first = await connect("/ws/chat", alice.token, "ready")
    const second = await connect("/ws/chat", alice.token, "ready")
    const third = await connect("/ws/chat", alice.token, "ready")
    const code = (await third.closed).code
    expect(code).toBe(1013)
    expect(third.frames).toContainEqual(expect.objectContaining({ type: "error", code: "TooManySockets" }))
    // Another caller is not affected.
    const bob = await signUp(platform.baseUrl)
    const bobs = await connect("/ws/chat", bob.token, "ready")
    expect(bobs.frames[0]).toMatchObject({ type: "ready" })
    first.ws.close()
    await first.closed
    await waitFor(async () => {
      const again = await connect("/ws/chat", alice.token, "ready")
      const ok = again.frames[0]?.type === "ready"
      again.ws.close()
      await again.closed
      return ok
    }, 5_000)
    second.ws.close()
    bobs.ws.close()
  })
})

describe("/ws/events limits", () => {
  test("a caller holds at most 2 event sockets: the third is closed with 1013", async () => {
    const dave = await signUp(platform.baseUrl)
    const first = await connect("/ws/events", dave.token, "subscribed")
    const second = await connect("/ws/events", dave.token, "subscribed")
    const third = await connect("/ws/events", dave.token, "subscribed")
    expect((await third.closed).code).toBe(1013)
    expect(third.frames).toContainEqual(expect.objectContaining({ code: "TooManySockets" }))
    first.ws.close()
    second.ws.close()
  })
})

describe("/ws/events follows the caller's credentials", () => {
  const execute = () =>
    fetch(`${platform.baseUrl}/agents/${fastAgent}/execute`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body: JSON.stringify({ task: "hello" })
    }).then((r) => r.status)

  test("a removed member stops receiving the project's events", async () => {
    const bob = await signUp(platform.baseUrl)
    const add = await fetch(`${platform.baseUrl}/projects/${alice.projectId}/members`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body: JSON.stringify({ email: bob.email, role: "viewer" })
    })
    expect(add.status).toBeLessThan(300)
    const events = await connect("/ws/events", bob.token, "subscribed")
    const ofProject = () => events.frames.filter((f) => f.projectId === alice.projectId).length
    expect(await execute()).toBeLessThan(300)
    await waitFor(async () => ofProject() > 0, 10_000)

    const removed = await fetch(`${platform.baseUrl}/projects/${alice.projectId}/members/${bob.userId}`, {
      method: "DELETE",
      headers: alice.headers
    })
    expect(removed.status).toBe(204)
    await Bun.sleep(200)
    const before = ofProject()
    expect(await execute()).toBeLessThan(300)
    // Alice (still a member) sees the new task's events; bob's socket gets none of them.
    const watcher = await connect("/ws/events", alice.token, "subscribed")
    expect(await execute()).toBeLessThan(300)
    await waitFor(async () => watcher.frames.some((f) => f.projectId === alice.projectId), 10_000)
    await Bun.sleep(300)
    expect(ofProject()).toBe(before)
    watcher.ws.close()
    events.ws.close()
  })

  test("logout closes the socket with 1008", async () => {
    const carol = await signUp(platform.baseUrl)
    const events = await connect("/ws/events", carol.token, "subscribed")
    const logout = await fetch(`${platform.baseUrl}/auth/logout`, { method: "POST", headers: carol.headers })
    expect(logout.status).toBe(204)
    const closed = await Promise.race([events.closed, Bun.sleep(5_000).then(() => undefined)])
    expect(closed?.code).toBe(1008)
  })
})
