/**
 * CPU per routed orchestrator message, by thread: synchronous `POST /orchestrator/message` to an
 * in-process echo agent, `count` at 10 in flight after 300, then 100 one at a time for the p50;
 * `rounds` times. On the embedded database by default; DATABASE_URL=auto runs it on a fresh
 * database of the local PostgreSQL 15. Not a `*.bench.ts`: a diagnostic for issue #19, run by
 * hand and alternated with another tree:
 *
 *   bun test/bench/support/orchestratorCpu.ts [count=1500] [rounds=2]
 */
import { Option, Redacted } from "effect"
import { startRemoteAgent } from "../../orchestrator/remoteAgent.ts"
import { startPlatform } from "../../support/platform.ts"
import { createTestDatabase } from "../../support/postgres.ts"
import { routedMessages } from "./routedMessage.ts"
import { threadTicks } from "./threadCpu.ts"

const COUNT = Number(process.argv[2] ?? 1500)
const ROUNDS = Number(process.argv[3] ?? 2)
const CONCURRENCY = 10

const db = process.env.DATABASE_URL === "auto" ? await createTestDatabase("orchestrator_cpu") : undefined
const platform = await startPlatform({
  egress: { allow: ["127.0.0.1"] },
  ...(db ? { databaseUrl: Option.some(Redacted.make(db.url)) } : {})
})
const agent = await startRemoteAgent({ name: "Echo" })
const pool = async (n: number, concurrency: number, f: (i: number) => Promise<void>) => {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await f(next++)
  }))
}
try {
  const send = await routedMessages(platform, agent)
  await pool(300, CONCURRENCY, send)
  for (let round = 0; round < ROUNDS; round++) {
    const before = threadTicks()
    const started = performance.now()
    await pool(COUNT, CONCURRENCY, send)
    const seconds = (performance.now() - started) / 1000
    const after = threadTicks()
    const perMessage = Object.entries(after)
      .map(([name, ticks]) => [name, ((ticks - (before[name] ?? 0)) * 10) / COUNT] as const)
      .filter(([, ms]) => ms >= 0.01)
    const latencies: Array<number> = []
    for (let i = 0; i < 100; i++) {
      const start = performance.now()
      await send(i)
      latencies.push(performance.now() - start)
    }
    latencies.sort((a, b) => a - b)
    console.log(
      `${db ? "PG15" : "PGlite"} routed ${(COUNT / seconds).toFixed(0)} msg/s at c=${CONCURRENCY}; CPU per message ` +
        perMessage.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(", ") +
        ` ms; c=1 p50 ${latencies[50]!.toFixed(2)} ms`
    )
  }
} finally {
  await agent.close()
  await platform.stop()
  await db?.drop()
}
process.exit(0)
