/**
 * What stopping entities costs: the platform (embedded database) with `count` `DeliveryProbe`
 * entities started (one volatile `Echo` each, 64 in flight), then stopped at once, timed with
 * this process's CPU. Passivation (an entity idle past its `maxIdleTime`) and a shard moving to
 * another runner stop entities the same way, one at a time; a workflow run is an entity of its
 * own. Not a `*.bench.ts`: a diagnostic for issue #19, run by hand and alternated with another
 * tree (0 gives the stop of a platform with none started):
 *
 *   bun test/bench/support/stopEntities.ts [count=2000]
 */
import { Effect } from "effect"
import { DeliveryProbe } from "../../../entities/DeliveryProbe.ts"
import { startPlatform } from "../../support/platform.ts"

const COUNT = Number(process.argv[2] ?? 2000)

const platform = await startPlatform({})
await platform.runtime.runPromise(Effect.flatMap(DeliveryProbe.client, (probe) =>
  Effect.forEach(Array.from({ length: COUNT }, (_, i) => i), (i) => probe(`stop-${i}`).Echo({ n: i }), {
    concurrency: 64,
    discard: true
  })))
const cpuBefore = process.cpuUsage()
const started = performance.now()
await platform.stop()
const cpu = process.cpuUsage(cpuBefore)
console.log(`${COUNT} entities: stop ${(performance.now() - started).toFixed(0)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`)
process.exit(0)
