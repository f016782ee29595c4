/**
 * Orchestrator costs, measured side by side in one run:
 * - reliable routing: sync POST /orchestrator/message (delivery row + persisted
 *   entity message + A2A SendMessage + reply persisted) vs the same SendMessage
 *   sent directly to the agent (no orchestrator);
 * - event fan-out latency to a /ws/events subscriber: Redis pub/sub vs in-process.
 */
import { Option, Redacted } from "effect"
import { startRemoteAgent } from "../orchestrator/remoteAgent.ts"
import { signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import type { BenchResult } from "./BenchResult.ts"
import { routedMessages } from "./support/routedMessage.ts"

// 1,500 per side (about 4 s routed): 400 (about 1 s) read 225-361 routed and 3,900-10,300 direct
// for the same code within minutes on this machine (issue #19).
const MESSAGES = Number(process.env.ORCHESTRATOR_BENCH_MESSAGES ?? 1500)
const CONCURRENCY = 10
/**
 * Messages sent before measuring, each side. 20 left JavaScriptCore compiling the routed path
 * during the 100 measured messages (its code is far larger than the reference agent's).
 */
const WARMUP = Number(process.env.ORCHESTRATOR_BENCH_WARMUP ?? 300)

const pool = async (n: number, concurrency: number, f: (i: number) => Promise<void>) => {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await f(next++)
  }))
}

const throughput = async (f: (i: number) => Promise<void>) => {
  await pool(WARMUP, CONCURRENCY, f)
  const started = performance.now()
  await pool(MESSAGES, CONCURRENCY, f)
  return MESSAGES / ((performance.now() - started) / 1000)
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Median publish→WebSocket delivery latency (event `at`, stamped when published,
 * to arrival; same machine clock) over `count` registrations.
 */
const eventLatency = async (platform: TestPlatform, count: number) => {
  const user = await signUp(platform.baseUrl)
  const agent = await startRemoteAgent({ name: "Latency" })
  const ws = new WebSocket(`${platform.wsUrl}/ws/events?topics=orchestrator/agents/&access_token=${user.token}`)
  const latencies: Array<number> = []
  await new Promise<void>((resolve) => {
    ws.onmessage = (m) => {
      const frame = JSON.parse(String(m.data))
      if (frame.type === "subscribed") resolve()
      else latencies.push(Date.now() - frame.at)
    }
  })
  for (let i = 0; i < count; i++) {
    const seen = latencies.length
    const res = await fetch(`${platform.baseUrl}/orchestrator/register`, {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/json" },
      body: JSON.stringify({ projectId: user.projectId, cardUrl: agent.cardUrl })
    })
    // A refused registration publishes nothing: fail instead of waiting for an event forever.
    if (!res.ok) throw new Error(`register answered ${res.status}: ${await res.text()}`)
    const deadline = Date.now() + 10_000
    while (latencies.length === seen) {
      if (Date.now() > deadline) throw new Error("no event within 10 s of a registration")
      await Bun.sleep(1)
    }
  }
  ws.close()
  await agent.close()
  return median(latencies)
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
  // Both admit the local agents' loopback card URLs (the egress policy refuses them otherwise).
  const redisPlatform = await startPlatform({ egress: { allow: ["127.0.0.1"] }, redisUrl: Option.some(Redacted.make("redis://127.0.0.1:6379")) })
  const agent = await startRemoteAgent({ name: "Echo" })
  try {
    const routed = await throughput(await routedMessages(platform, agent))
    const direct = await throughput(async (i) => {
      const res = await fetch(`${agent.baseUrl}/a2a`, {
        method: "POST",
        headers: { "content-type": "application/json", "a2a-version": "1.0" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: i,
          method: "SendMessage",
          params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: `m${i}` }] } }
        })
      })
      await res.json()
    })

    const inProcess = await eventLatency(platform, 30)
    const viaRedis = await eventLatency(redisPlatform, 30)

    return [
      {
        name: `orchestrator: reliable sync message (${MESSAGES} msgs, concurrency ${CONCURRENCY})`,
        candidate: { label: "via /orchestrator/message", value: routed, unit: "msg/s" },
        baseline: { label: "direct SendMessage", value: direct, unit: "msg/s" },
        ratio: routed / direct
      },
      {
        name: "events: publish → /ws/events subscriber, median latency",
        candidate: { label: "Redis pub/sub", value: viaRedis, unit: "ms" },
        baseline: { label: "in-process", value: inProcess, unit: "ms" },
        ratio: viaRedis / inProcess
      }
    ]
  } finally {
    await agent.close()
    await platform.stop()
    await redisPlatform.stop()
  }
}
