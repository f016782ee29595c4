/**
 * Routed orchestrator messages over a longer run than `bench orchestrator`'s: synchronous
 * `POST /orchestrator/message` to an in-process echo agent at 10 in flight for `seconds`, printed
 * as messages/s per 10 s window. Delivery entities idle 30 s are passivated from then on, so
 * the windows after the first 30-60 s include what stopping them costs; the bench's 1,800
 * messages end before that. Not a `*.bench.ts`: a diagnostic for issue #19, run by hand and
 * alternated with another tree:
 *
 *   bun test/bench/support/orchestratorSteady.ts [seconds=90]
 */
import { startRemoteAgent } from "../../orchestrator/remoteAgent.ts"
import { startPlatform } from "../../support/platform.ts"
import { routedMessages } from "./routedMessage.ts"

const SECONDS = Number(process.argv[2] ?? 90)
const CONCURRENCY = 10

const platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
const agent = await startRemoteAgent({ name: "Echo" })
try {
  const send = await routedMessages(platform, agent)
  let delivered = 0
  let counted = 0
  const windows: Array<number> = []
  const timer = setInterval(() => {
    windows.push(delivered - counted)
    counted = delivered
  }, 10_000)
  const deadline = performance.now() + SECONDS * 1000
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      await send(next++)
      delivered++
    }
  }))
  clearInterval(timer)
  console.log(`msg/s per 10 s window: ${windows.map((n) => (n / 10).toFixed(0)).join(" ")}`)
} finally {
  await agent.close()
  await platform.stop()
}
process.exit(0)
