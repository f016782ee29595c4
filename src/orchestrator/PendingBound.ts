import { Config, Effect } from "effect"
import { TooManyRequests } from "../kernel/WireErrors.ts"
import * as Values from "../config/Values.ts"
import { DeliveryRepo } from "./DeliveryRepo.ts"

export const PendingBoundConfig = Config.all({
  /** Deliveries a project may have pending (accepted, not yet delivered or dead-lettered) before new ones get 429. */
  maxPendingPerProject: Values.positiveInteger("ORCHESTRATOR_MAX_PENDING_PER_PROJECT").pipe(Config.withDefault(1000))
})

/** A count from the database younger than this is trusted: a project at its bound reads it at most once a second. */
const FRESH_MS = 1000

/** What this process knows of one project's pending deliveries. */
interface Tally {
  /** Pending in the database at the last count (every node's). */
  known: number
  /** Created by this process since that count began. */
  admitted: number
  readAt: number
  readonly counting: Effect.Semaphore
}

/**
 * A bound on each project's pending deliveries. A pending delivery holds memory on the node
 * running it (~74 KB: its fibers and their contexts) for as long as its attempts, timeouts and
 * backoff last (minutes), so without a bound one project sending at its rate limit to an agent
 * that never answers could hold gigabytes of a node.
 *
 * Nothing is read per message: each process counts the deliveries it created since it last
 * counted the project's pending ones in the database, and counts again (one indexed statement,
 * at most once a second per project) only when that sum reaches the bound, since deliveries
 * finish without telling the process that created them (they may run on another node). So a
 * project that stays under the bound is never counted more than once per `max` messages, and
 * one at it once a second. The bound is approximate by what is in flight: other nodes' creations
 * in the last second, and requests checked side by side before either is counted.
 */
export class PendingBound extends Effect.Service<PendingBound>()("Orchestrator/PendingBound", {
  effect: Effect.gen(function*() {
    const repo = yield* DeliveryRepo
    const { maxPendingPerProject: max } = yield* PendingBoundConfig.pipe(Effect.orDie)
    const tallies = new Map<string, Tally>()

    const full = (tally: Tally) => tally.known + tally.admitted >= max

    const recount = (projectId: string, tally: Tally) =>
      tally.counting.withPermits(1)(Effect.suspend(() => {
        // Another request counted while this one waited.
        if (Date.now() - tally.readAt < FRESH_MS) return Effect.void
        // Created before the count starts are committed, so in it; those created during it
        // may be counted twice until the next count (conservative).
        const before = tally.admitted
        return Effect.map(repo.countPending(projectId, max), (n) => {
          tally.known = n
          tally.admitted -= before
          tally.readAt = Date.now()
          // A project with nothing pending is forgotten: the map holds active projects only.
          if (n === 0 && tally.admitted === 0 && tallies.get(projectId) === tally) tallies.delete(projectId)
        })
      }))

    const refused = () =>
      new TooManyRequests({
        message: `too many deliveries pending for this project (at most ${max}); retry when some have finished`,
        retryAfterSeconds: FRESH_MS / 1000
      })

    /** Fails when the project has `max` deliveries pending; call before creating one. */
    const check = (projectId: string): Effect.Effect<void, TooManyRequests> =>
      Effect.suspend(() => {
        const tally = tallies.get(projectId)
        if (tally === undefined || !full(tally)) return Effect.void
        return Effect.flatMap(recount(projectId, tally), () => full(tally) ? Effect.fail(refused()) : Effect.void)
      })

    /** A delivery was created for the project (not a repeated idempotency key). */
    const created = (projectId: string) =>
      Effect.sync(() => {
        const tally = tallies.get(projectId)
        if (tally !== undefined) tally.admitted++
        else tallies.set(projectId, { known: 0, admitted: 1, readAt: 0, counting: Effect.unsafeMakeSemaphore(1) })
      })

    return { check, created, max } as const
  }),
  dependencies: [DeliveryRepo.Default]
}) {}
