import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { RedisClient } from "bun"
import { signUp, type SignedUp } from "../support/auth.ts"
import { freePort } from "../support/freePort.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { type PrivateRedis, startPrivateRedis } from "../support/privateRedis.ts"
import { spawnPlatform, waitFor } from "../support/process.ts"
import { startRemoteAgent } from "../orchestrator/remoteAgent.ts"

/**
 * Redis killed and started again under a running platform process (REDIS_URL at a private
 * redis-server). Down: requests are still served (no 5xx), rate limits hold in process and
 * events reach this node's /ws/events subscribers in process. Back: buckets are in Redis
 * again and events cross processes again in both directions (the test plays the other node
 * by publishing to and reading from the channel itself).
 */
const CHANNEL = "platform:events"
const PREFIX = `ratelimit-fault-${crypto.randomUUID().slice(0, 8)}:`
const BURST = 6
let redis: PrivateRedis
let db: Awaited<ReturnType<typeof createTestDatabase>>
let node: Awaited<ReturnType<typeof spawnPlatform>> | undefined
const agents: Array<Awaited<ReturnType<typeof startRemoteAgent>>> = []
const sockets: Array<WebSocket> = []

beforeAll(async () => {
  redis = await startPrivateRedis()
  db = await createTestDatabase("redis_fault")
  agents.push(await startRemoteAgent({ name: "Announced while down" }), await startRemoteAgent({ name: "Announced after" }))
  node = await spawnPlatform({
    DATABASE_URL: db.url,
    VECTOR_STORE: "disabled",
    REDIS_URL: redis.url,
    EGRESS_ALLOW: "127.0.0.1",
    JWT_SECRET_KEY: `redis-fault-${crypto.randomUUID()}-${crypto.randomUUID()}`,
    HTTP_PORT: String(await freePort()),
    RATE_LIMIT_KEY_PREFIX: PREFIX,
    // A caller gets BURST requests, then one every 50 s: the 429 shows the limit is enforced.
    RATE_LIMIT_USER_PER_SECOND: "0.02",
    RATE_LIMIT_USER_BURST: String(BURST)
  })
}, 180_000)

afterAll(async () => {
  for (const s of sockets) s.close()
  await node?.kill("SIGKILL")
  await redis?.stop()
  await Promise.all(agents.map((a) => a.close()))
  await db?.drop()
}, 60_000)

/** BURST + 3 authenticated requests: statuses in order. */
const spendBucket = async (user: SignedUp) => {
  const statuses: Array<number> = []
  for (let i = 0; i < BURST + 3; i++) {
    const response = await fetch(`${node!.baseUrl}/agents?projectId=${user.projectId}`, { headers: user.headers, signal: AbortSignal.timeout(20_000) })
    await response.arrayBuffer()
    statuses.push(response.status)
  }
  return statuses
}

const bucketInRedis = async (user: SignedUp) => {
  const client = new RedisClient(redis.url, { autoReconnect: false, connectionTimeout: 2_000 })
  try {
    return (await client.exists(`${PREFIX}user:${user.userId}`)) === true
  } finally {
    client.close()
  }
}

/** A /ws/events socket of `user`, collecting what it receives. */
const openEvents = async (user: SignedUp) => {
  const received: Array<{ topic: string; type: string }> = []
  const socket = new WebSocket(`${node!.wsUrl}/ws/events?access_token=${user.token}`)
  sockets.push(socket)
  await new Promise<void>((resolve, reject) => {
    socket.onmessage = (m) => {
      const event = JSON.parse(String(m.data))
      if (event.type === "subscribed") resolve()
      else received.push(event)
    }
    socket.onerror = () => reject(new Error("events socket failed"))
  })
  return received
}

/** Registers a remote agent (a card URL registers once per project: the same URL gives the same id). */
const registerAgent = async (user: SignedUp, cardUrl: string) => {
  const response = await fetch(`${node!.baseUrl}/orchestrator/register`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, cardUrl }),
    signal: AbortSignal.timeout(30_000)
  })
  expect(response.status).toBe(201)
  return (await response.json()).id as string
}

/** Publishes on the channel as another node would; true once the platform's subscriber got it. */
let published = 0
const publishAsOtherNode = async (user: SignedUp, received: Array<{ topic: string }>, prefix: string) => {
  // A new topic per try: an earlier try may still arrive, and must not count for this one.
  const topic = `${prefix}/${++published}`
  const client = new RedisClient(redis.url, { autoReconnect: false, connectionTimeout: 2_000 })
  try {
    await client.publish(CHANNEL, JSON.stringify({ topic, type: "test.ping", projectId: user.projectId, data: {}, at: Date.now() }))
  } finally {
    client.close()
  }
  await Bun.sleep(200)
  return received.some((e) => e.topic === topic)
}

/** Events the platform publishes to Redis, read by the test as another node. */
const listenToChannel = async () => {
  const seen: Array<{ topic: string }> = []
  const client = new RedisClient(redis.url, { autoReconnect: false, connectionTimeout: 2_000 })
  await client.subscribe(CHANNEL, (message) => seen.push(JSON.parse(message)))
  return { seen, close: () => client.close() }
}

const expectLimited = (statuses: Array<number>) => {
  expect(statuses.filter((s) => s >= 500)).toEqual([])
  // The events socket's upgrade spent a token too: BURST - 1 answers, then the limit.
  const served = statuses.filter((s) => s === 200).length
  expect(served).toBeGreaterThanOrEqual(BURST - 2)
  expect(statuses).toEqual([...Array(served).fill(200), ...Array(statuses.length - served).fill(429)])
}

describe("Redis stopped and started again", () => {
  test("rate limits and events degrade to in-process while it is down and go back to Redis after", async () => {
    // Up: buckets and events go through Redis.
    const alice = await signUp(node!.baseUrl)
    const aliceEvents = await openEvents(alice)
    expectLimited(await spendBucket(alice))
    expect(await bucketInRedis(alice)).toBe(true)
    await waitFor(() => publishAsOtherNode(alice, aliceEvents, "test/before"), 20_000)

    await redis.stop()
    // Down: still served, limits enforced by the process, events delivered on this node.
    const bob = await signUp(node!.baseUrl)
    expectLimited(await spendBucket(bob))
    // Another caller (bob's bucket is spent) watches and acts.
    const eve = await signUp(node!.baseUrl)
    const eveEvents = await openEvents(eve)
    const whileDown = await registerAgent(eve, agents[0]!.cardUrl)
    await waitFor(() => eveEvents.some((e) => e.topic === `orchestrator/agents/${whileDown}`), 20_000)
    const health = await fetch(`${node!.baseUrl}/health`)
    expect(health.status).toBe(200)

    await redis.start()
    // Back: new buckets live in Redis again (the process reconnects by itself)...
    const carol = await signUp(node!.baseUrl)
    await waitFor(async () => {
      await (await fetch(`${node!.baseUrl}/agents?projectId=${carol.projectId}`, { headers: carol.headers })).arrayBuffer()
      return bucketInRedis(carol)
    }, 30_000)
    // ...events from another node reach this one (its subscription was renewed)...
    await waitFor(() => publishAsOtherNode(eve, eveEvents, "test/after"), 30_000)
    // ...and this node's events reach the others through Redis, and its own subscribers once.
    const channel = await listenToChannel()
    try {
      const afterBack = await registerAgent(eve, agents[1]!.cardUrl)
      await waitFor(() => channel.seen.some((e) => e.topic === `orchestrator/agents/${afterBack}`), 20_000)
      await waitFor(() => eveEvents.some((e) => e.topic === `orchestrator/agents/${afterBack}` && e.type === "agent.registered"), 20_000)
      await Bun.sleep(300)
      // Once, not also from a duplicate subscription or a local copy.
      const registered = eveEvents.filter((e) => e.topic === `orchestrator/agents/${afterBack}` && e.type === "agent.registered")
      expect(registered.length).toBe(1)
    } finally {
      channel.close()
    }
  }, 120_000)
})
