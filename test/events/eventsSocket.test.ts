import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Context, Effect, Exit, Layer, Option, Redacted, Scope, Stream } from "effect"
import { EventBus, type PlatformEvent } from "../../src/events/EventBus.ts"
import { DEFAULT_CHANNEL, makeRedisEventBus } from "../../src/events/RedisEventBus.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { type RemoteAgent, startRemoteAgent } from "../orchestrator/remoteAgent.ts"

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

/** A WebSocket subscriber that records every frame; resolves once the server said "subscribed". */
const subscribe = async (url: string) => {
  const frames: Array<PlatformEvent & { type: string }> = []
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (m) => {
      const frame = JSON.parse(String(m.data))
      if (frame.type === "subscribed") resolve()
      else frames.push(frame)
    }
    ws.onerror = () => reject(new Error("websocket error"))
    ws.onclose = (e) => reject(new Error(`closed ${e.code}`))
  })
  return { frames, close: () => ws.close() }
}

let platform: TestPlatform
let redisPlatform: TestPlatform
let alice: SignedUp
let bob: SignedUp
let agent: RemoteAgent
// "Another node": a Redis bus in this test process, on the platform's channel.
let otherNode: Context.Context<EventBus>
let scope: Scope.CloseableScope

const register = (p: TestPlatform, user: SignedUp) =>
  fetch(`${p.baseUrl}/orchestrator/register`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, cardUrl: agent.cardUrl })
  })

beforeAll(async () => {
  agent = await startRemoteAgent({ name: "Announcer", skills: [] })
  // Remote agents listen on loopback: the operator allow-list admits it.
  platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
  redisPlatform = await startPlatform({ redisUrl: Option.some(Redacted.make(REDIS_URL)), egress: { allow: ["127.0.0.1"] } })
  alice = await signUp(platform.baseUrl)
  bob = await signUp(platform.baseUrl)
  scope = Effect.runSync(Scope.make())
  otherNode = await Effect.runPromise(Layer.buildWithScope(makeRedisEventBus(Redacted.make(REDIS_URL), DEFAULT_CHANNEL), scope))
}, 120_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await agent?.close()
  await platform?.stop()
  await redisPlatform?.stop()
}, 30_000)

describe("/ws/events", () => {
  test("refuses unauthenticated subscribers", async () => {
    const res = await fetch(`${platform.baseUrl}/ws/events`)
    expect(res.status).toBe(401)
    const bad = await fetch(`${platform.baseUrl}/ws/events?access_token=not-a-token`)
    expect(bad.status).toBe(401)
  })

  test("in-process: a registration reaches its project's subscribers only", async () => {
    const wsUrl = `${platform.wsUrl}/ws/events?topics=orchestrator/`
    const aliceSocket = await subscribe(`${wsUrl}&access_token=${alice.token}`)
    const bobSocket = await subscribe(`${wsUrl}&access_token=${bob.token}`)
    expect((await register(platform, alice)).status).toBe(201)
    expect((await register(platform, bob)).status).toBe(201)
    await waitFor(() => aliceSocket.frames.length >= 1 && bobSocket.frames.length >= 1, 5_000)
    expect(aliceSocket.frames.map((f) => [f.type, f.projectId])).toEqual([["agent.registered", alice.projectId]])
    expect(bobSocket.frames.map((f) => [f.type, f.projectId])).toEqual([["agent.registered", bob.projectId]])
    aliceSocket.close()
    bobSocket.close()
  })

  test("Redis: events cross nodes in both directions", async () => {
    const carol = await signUp(redisPlatform.baseUrl)
    const socket = await subscribe(`${redisPlatform.wsUrl}/ws/events?access_token=${carol.token}`)
    const bus = Context.get(otherNode, EventBus)
    // Published on the other node → seen by the platform's WebSocket subscriber.
    const seenElsewhere = Effect.runPromise(
      bus.subscribe(`orchestrator/agents/`).pipe(
        Stream.filter((e) => e.projectId === carol.projectId),
        Stream.take(1),
        Stream.runCollect
      )
    )
    await Bun.sleep(100)
    await Effect.runPromise(bus.publish({ topic: "agents/x/status", type: "agent.status", projectId: carol.projectId, data: { from: "other node" } }))
    await waitFor(() => socket.frames.some((f) => f.type === "agent.status"), 5_000)
    expect(socket.frames.find((f) => f.type === "agent.status")?.data).toEqual({ from: "other node" })
    // Happened on the platform → seen by the other node (and by the platform's own subscriber, once).
    expect((await register(redisPlatform, carol)).status).toBe(201)
    const [event] = await seenElsewhere
    expect(event.type).toBe("agent.registered")
    await waitFor(() => socket.frames.some((f) => f.type === "agent.registered"), 5_000)
    await Bun.sleep(200)
    expect(socket.frames.filter((f) => f.type === "agent.registered")).toHaveLength(1)
    socket.close()
  })
})
