import { Config, Effect } from "effect"
import { makeBacklogBound } from "../kernel/BacklogBound.ts"
import * as Values from "../config/Values.ts"
import { DeliveryRepo } from "./DeliveryRepo.ts"

export const PendingBoundConfig = Config.all({
  /** Deliveries a project may have pending (accepted, not yet delivered or dead-lettered) before new ones get 429. */
  maxPendingPerProject: Values.positiveInteger("ORCHESTRATOR_MAX_PENDING_PER_PROJECT").pipe(Config.withDefault(1000))
})

/**
 * The bound on a project's pending deliveries (src/kernel/BacklogBound.ts): a pending delivery
 * holds ~74 KB on the node running it (its fibers and their contexts) for as long as its
 * attempts, timeouts and backoff last (~3 minutes by default).
 */
export class PendingBound extends Effect.Service<PendingBound>()("Orchestrator/PendingBound", {
  effect: Effect.gen(function*() {
    const repo = yield* DeliveryRepo
    const { maxPendingPerProject: max } = yield* PendingBoundConfig.pipe(Effect.orDie)
    return makeBacklogBound({ max, count: repo.countPending, what: "deliveries pending" })
  }),
  dependencies: [DeliveryRepo.Default]
}) {}
