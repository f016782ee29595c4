import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * RPC calls are limited like the HTTP API (src/gateway/RpcCallLimit.ts, RpcSocketSlots.ts): the
 * HTTP edge sees only a WebSocket's upgrade, or one `/rpc` request however many calls its body
 * carries, so before these one socket (or one POST) carried 5,000 calls in under 2 s at the
 * default rate limits with none refused, and streams without end. Now each call spends the
 * caller's rate limit (a call over HTTP is not charged twice), a socket runs at most
 * `RPC_MAX_CALLS_PER_SOCKET` calls at once, and a caller holds at most `WS_MAX_SOCKETS_PER_USER`
 * sockets.
 */
const BURST = 30
const CALLS_PER_SOCKET = 3
const SOCKETS = 2
let platform: TestPlatform

beforeAll(async () => {
  platform = await startPlatform({
    auth: { rateLimitUserBurst: BURST, rateLimitUserPerSecond: 0.5 },
    rpcMaxCallsPerSocket: CALLS_PER_SOCKET,
    wsMaxSocketsPerUser: SOCKETS
  })
}, 60_000)

afterAll(async () => {
  await platform?.stop()
})

interface Exit {
  readonly requestId: string
  readonly ok: boolean
  readonly tag: string | undefined
}

/** A raw NDJSON RPC socket: what any client sends, no SDK in between. */
const openSocket = async (user: SignedUp) => {
  const ws = new WebSocket(`${platform.wsUrl}/rpc/ws?access_token=${user.token}`)
  const exits: Array<Exit> = []
  const chunks = new Map<string, number>()
  let buffer = ""
  ws.onmessage = (m) => {
    buffer += String(m.data)
    const lines = buffer.split("\n")
    buffer = lines.pop()!
    for (const line of lines) {
      if (line === "") continue
      const frame = JSON.parse(line)
      if (frame._tag === "Chunk") {
        chunks.set(frame.requestId, (chunks.get(frame.requestId) ?? 0) + frame.values.length)
        // The server sends a stream's next chunk once the client acknowledged the last one.
        ws.send(JSON.stringify({ _tag: "Ack", requestId: frame.requestId }) + "\n")
      }
      if (frame._tag === "Exit") {
        exits.push({ requestId: frame.requestId, ok: frame.exit._tag === "Success", tag: frame.exit.cause?.error?._tag })
      }
    }
  }
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true)
    ws.onclose = () => resolve(false)
    ws.onerror = () => resolve(false)
  })
  const call = (id: string, tag: string, payload: unknown = {}) =>
    ws.send(JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] }) + "\n")
  const interrupt = (id: string) => ws.send(JSON.stringify({ _tag: "Interrupt", requestId: id }) + "\n")
  return { ws, opened, exits, chunks, call, interrupt }
}

describe("the RPC WebSocket", () => {
  test("each call spends the caller's rate limit; past it TooManyRequests and the socket stays open", async () => {
    const user = await signUp(platform.baseUrl)
    const socket = await openSocket(user)
    expect(socket.opened).toBe(true)
    for (let i = 0; i < 2 * BURST; i++) socket.call(String(i), "Ping")
    await waitFor(() => socket.exits.length === 2 * BURST, 20_000)
    const ok = socket.exits.filter((e) => e.ok).length
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThanOrEqual(BURST)
    expect(socket.exits.filter((e) => !e.ok).every((e) => e.tag === "TooManyRequests")).toBe(true)
    expect(socket.ws.readyState).toBe(WebSocket.OPEN)
    socket.ws.close()
  }, 30_000)

  test("over HTTP, calls batched in one request each spend a token", async () => {
    const user = await signUp(platform.baseUrl)
    const body = Array.from({ length: 2 * BURST }, (_, i) =>
      JSON.stringify({ _tag: "Request", id: String(i + 1), tag: "Ping", payload: {}, headers: [] })).join("\n") + "\n"
    const res = await fetch(`${platform.baseUrl}/rpc`, {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/ndjson" },
      body
    })
    expect(res.status).toBe(200)
    const exits = (await res.text()).split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    expect(exits.length).toBe(2 * BURST)
    const ok = exits.filter((e) => e.exit._tag === "Success").length
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThanOrEqual(BURST)
    expect(exits.filter((e) => e.exit._tag !== "Success").every((e) => e.exit.cause.error._tag === "TooManyRequests")).toBe(true)
  }, 30_000)

  test("a call over HTTP spends one token, not two", async () => {
    const user = await signUp(platform.baseUrl)
    const statuses: Array<number> = []
    // signUp spent a few of the bucket's tokens; two per call would run out well before 20 calls.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${platform.baseUrl}/rpc`, {
        method: "POST",
        headers: { ...user.headers, "content-type": "application/ndjson" },
        body: JSON.stringify({ _tag: "Request", id: String(i), tag: "Ping", payload: {}, headers: [] }) + "\n"
      })
      const text = await res.text()
      statuses.push(res.status === 200 && text.includes("pong") ? 200 : res.status)
    }
    expect(statuses.every((s) => s === 200)).toBe(true)
  }, 30_000)

  test("at most RPC_MAX_CALLS_PER_SOCKET calls run at once on a socket; one ending makes room", async () => {
    const user = await signUp(platform.baseUrl)
    const socket = await openSocket(user)
    // Streams that would run for hours.
    // (Request ids are the protocol's: decimal integers.)
    for (let i = 1; i <= CALLS_PER_SOCKET + 2; i++) socket.call(String(i), "Ticks", { count: 1000, intervalMs: 10_000 })
    await waitFor(() => socket.exits.length === 2, 10_000)
    expect(socket.exits.every((e) => e.tag === "TooManyRequests")).toBe(true)
    // The client interrupts one (the server sends no exit for it): its slot is free again.
    socket.interrupt("1")
    await Bun.sleep(200)
    socket.call("100", "Ticks", { count: 2, intervalMs: 10 })
    await waitFor(() => socket.exits.some((e) => e.requestId === "100"), 10_000)
    expect(socket.exits.find((e) => e.requestId === "100")?.ok).toBe(true)
    expect(socket.chunks.get("100")).toBe(2)
    socket.ws.close()
  }, 30_000)

  test("a caller holds at most WS_MAX_SOCKETS_PER_USER sockets; closing one makes room", async () => {
    const user = await signUp(platform.baseUrl)
    const sockets = [await openSocket(user), await openSocket(user)]
    expect(sockets.every((s) => s.opened)).toBe(true)
    const refused = await fetch(`${platform.baseUrl}/rpc/ws?access_token=${user.token}`, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }
    })
    expect(refused.status).toBe(429)
    expect((await refused.json())._tag).toBe("TooManyRequests")
    expect((await openSocket(user)).opened).toBe(false)
    // Another caller is not affected.
    const other = await openSocket(await signUp(platform.baseUrl))
    expect(other.opened).toBe(true)
    other.ws.close()
    sockets[0].ws.close()
    await Bun.sleep(200)
    const again = await openSocket(user)
    expect(again.opened).toBe(true)
    again.ws.close()
    sockets[1].ws.close()
  }, 30_000)
})
