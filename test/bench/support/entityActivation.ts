/**
 * What starting an entity costs: on a single node over a fresh PostgreSQL 15 database, `count`
 * messages at 64 in flight to 200 running `DeliveryProbe` entities against as many messages each
 * to a new entity, volatile (`Echo`) and persisted (`Ack`), three rounds; messages/s and this
 * process's CPU per message. Not a `*.bench.ts`: a diagnostic for issue #19 (the orchestrator
 * starts one `Delivery` entity per message), run by hand:
 *
 *   bun test/bench/support/entityActivation.ts [count=3000]
 */
import { Effect } from "effect"
import { DeliveryProbe } from "../../../entities/DeliveryProbe.ts"
import { DeliveryProbeLive } from "../../../src/system/DeliveryProbeLive.ts"
import { createTestDatabase } from "../../support/postgres.ts"
import { singleNodeRuntime } from "../../support/singleNode.ts"

const COUNT = Number(process.argv[2] ?? 3000)
const RUNNING = 200

const db = await createTestDatabase("entity_activation")
const runtime = singleNodeRuntime(DeliveryProbeLive, db.url)
const cpuMs = () => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}
try {
  await runtime.runPromise(Effect.gen(function*() {
    const probe = yield* DeliveryProbe.client
    const measure = (label: string, send: (i: number) => Effect.Effect<unknown, unknown>) =>
      Effect.gen(function*() {
        const cpuBefore = cpuMs()
        const started = performance.now()
        yield* Effect.forEach(Array.from({ length: COUNT }, (_, i) => i), send, { concurrency: 64, discard: true })
        const seconds = (performance.now() - started) / 1000
        console.log(`${label}: ${(COUNT / seconds).toFixed(0)} msg/s, CPU ${(((cpuMs() - cpuBefore) / COUNT) * 1000).toFixed(0)} µs/msg`)
      })
    // Warm-up: JIT, and the running entities started.
    yield* Effect.forEach(Array.from({ length: 20_000 }, (_, i) => i), (i) => probe(`probe-${i % RUNNING}`).Echo({ n: i }), {
      concurrency: 64,
      discard: true
    })
    for (let round = 0; round < 3; round++) {
      yield* measure(`Echo, ${RUNNING} running entities`, (i) => probe(`probe-${i % RUNNING}`).Echo({ n: i }))
      yield* measure("Echo, a new entity each", (i) => probe(`echo-${round}-${i}`).Echo({ n: i }))
      yield* measure(`Ack, ${RUNNING} running entities`, (i) => probe(`probe-${i % RUNNING}`).Ack({ messageId: `running-${round}-${i}` }))
      yield* measure("Ack, a new entity each", (i) => probe(`ack-${round}-${i}`).Ack({ messageId: `new-${round}-${i}` }))
    }
  }))
} finally {
  await runtime.dispose()
  await db.drop()
}
process.exit(0)
