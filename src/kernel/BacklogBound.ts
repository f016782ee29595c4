import { Effect } from "effect"
import { TooManyRequests } from "./WireErrors.ts"

/** A count from the database younger than this is trusted: a project at its bound is counted at most once a second. */
const FRESH_MS = 1000

/** What this process knows of one project's unfinished work. */
interface Tally {
  /** Unfinished in the database at the last count (every node's). */
  known: number
  /** Started by this process since that count began. */
  started: number
  readAt: number
  readonly counting: Effect.Semaphore
}

export interface BacklogBoundOptions {
  /** Unfinished items a project may have before new ones are refused. */
  readonly max: number
  /** The project's unfinished items in the database, counted up to `limit` (the count may stop there). */
  readonly count: (projectId: string, limit: number) => Effect.Effect<number>
  /** What is refused, for the 429's message ("deliveries pending", "workflow runs in progress"). */
  readonly what: string
}

export interface BacklogBound {
  /** Fails with 429 when the project has `max` unfinished items; call before starting one. */
  readonly check: (projectId: string) => Effect.Effect<void, TooManyRequests>
  /** One was started for the project (not a repeated idempotency key). */
  readonly started: (projectId: string) => Effect.Effect<void>
}

/**
 * A bound on a project's unfinished work (orchestrator deliveries, workflow runs, agent tasks): each holds
 * memory on the node running it for as long as it waits on its targets (minutes), so without a
 * bound one project starting work at its rate limit against a target that never answers could
 * hold gigabytes of a node.
 *
 * Nothing is read per item: each process counts what it started since it last counted the
 * project's unfinished items in the database, and counts again (one indexed statement, at most
 * once a second per project) only when that sum reaches the bound, since work finishes without
 * telling the process that started it (it may run on another node). So a project under the
 * bound is counted at most once per `max` items, and one at it once a second. The bound is per
 * node: each node admits up to `max` before it counts (work is spread over the nodes, so is its
 * memory), and requests checked side by side before either is counted may pass together.
 */
export const makeBacklogBound = ({ count, max, what }: BacklogBoundOptions): BacklogBound => {
  const tallies = new Map<string, Tally>()

  const full = (tally: Tally) => tally.known + tally.started >= max

  const recount = (projectId: string, tally: Tally) =>
    tally.counting.withPermits(1)(Effect.suspend(() => {
      // Another request counted while this one waited.
      if (Date.now() - tally.readAt < FRESH_MS) return Effect.void
      // Started before the count begins are committed, so in it; those started during it may
      // be counted twice until the next count (conservative).
      const before = tally.started
      return Effect.map(count(projectId, max), (n) => {
        tally.known = n
        tally.started -= before
        tally.readAt = Date.now()
        // A project with nothing unfinished is forgotten: the map holds active projects only.
        if (n === 0 && tally.started === 0 && tallies.get(projectId) === tally) tallies.delete(projectId)
      })
    }))

  const refused = () =>
    new TooManyRequests({
      message: `too many ${what} for this project (at most ${max}); retry when some have finished`,
      retryAfterSeconds: FRESH_MS / 1000
    })

  return {
    check: (projectId) =>
      Effect.suspend(() => {
        const tally = tallies.get(projectId)
        if (tally === undefined || !full(tally)) return Effect.void
        return Effect.flatMap(recount(projectId, tally), () => full(tally) ? Effect.fail(refused()) : Effect.void)
      }),
    started: (projectId) =>
      Effect.sync(() => {
        const tally = tallies.get(projectId)
        if (tally !== undefined) tally.started++
        else tallies.set(projectId, { known: 0, started: 1, readAt: 0, counting: Effect.unsafeMakeSemaphore(1) })
      })
  }
}
