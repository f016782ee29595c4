import { Effect } from "effect"
import { makeBacklogBound } from "../kernel/BacklogBound.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowsConfig } from "./WorkflowsConfig.ts"

/**
 * The bound on a project's runs in progress (src/kernel/BacklogBound.ts): a run in progress holds
 * ~116 KB on the node running it (measured: 2,000 runs whose http step waited on a server that
 * never answered grew the heap by 233 MB) for as long as its steps wait, and its http steps queue
 * behind the project's share of outbound requests. Runs waiting for an approval or a long `wait`
 * are suspended (their status is `waiting`) and do not count.
 */
export class ActiveRunsBound extends Effect.Service<ActiveRunsBound>()("Workflows/ActiveRunsBound", {
  effect: Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const { maxActiveRunsPerProject: max } = yield* WorkflowsConfig
    return makeBacklogBound({ max, count: repo.countActive, what: "workflow runs in progress" })
  }),
  dependencies: [WorkflowRepo.Default]
}) {}
