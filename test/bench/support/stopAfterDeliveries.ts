/**
 * What stopping the entities of many deliveries costs: `count` orchestrator messages (each its own
 * `Delivery` entity, alive until passivated 30-60 s later) at 10 in flight, then the platform
 * stopped at once, timed with its CPU. Passivation and a shard moving to another runner stop
 * entities the same way, one at a time. Not a `*.bench.ts`: a diagnostic for issue #19, run by
 * hand and alternated with another tree (0 gives the stop of a platform with no such entities):
 *
 *   bun test/bench/support/stopAfterDeliveries.ts [count=2000]
 */
import { startRemoteAgent } from "../../orchestrator/remoteAgent.ts"
import { signUp } from "../../support/auth.ts"
import { startPlatform } from "../../support/platform.ts"

const COUNT = Number(process.argv[2] ?? 2000)
const CONCURRENCY = 10

const platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
const agent = await startRemoteAgent({ name: "Echo" })
try {
  const user = await signUp(platform.baseUrl)
  const headers = { ...user.headers, "content-type": "application/json" }
  const registered = await fetch(`${platform.baseUrl}/orchestrator/register`, {
    method: "POST",
    headers,
    body: JSON.stringify({ projectId: user.projectId, cardUrl: agent.cardUrl })
  })
  const agentId = (await registered.json()).id as string
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < COUNT) {
      const i = next++
      const res = await fetch(`${platform.baseUrl}/orchestrator/message`, {
        method: "POST",
        headers,
        body: JSON.stringify({ projectId: user.projectId, to: agentId, text: `m${i}` })
      })
      if ((await res.json()).status !== "delivered") throw new Error(`message ${i} not delivered`)
    }
  }))
} finally {
  await agent.close()
}
const cpuBefore = process.cpuUsage()
const started = performance.now()
await platform.stop()
const cpu = process.cpuUsage(cpuBefore)
console.log(
  `after ${COUNT} deliveries: stop ${(performance.now() - started).toFixed(0)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`
)
process.exit(0)
