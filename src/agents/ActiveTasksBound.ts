import { Config, Effect } from "effect"
import { makeBacklogBound } from "../kernel/BacklogBound.ts"
import * as Values from "../config/Values.ts"
import { TaskRepo } from "./TaskRepo.ts"

export const ActiveTasksBoundConfig = Config.all({
  /** Tasks a project may have in progress (submitted or working) before new ones get 429. */
  maxActiveTasksPerProject: Values.positiveInteger("AGENT_MAX_ACTIVE_TASKS_PER_PROJECT").pipe(Config.withDefault(1000))
})

/**
 * The bound on a project's agent tasks in progress (src/kernel/BacklogBound.ts): a task in
 * progress holds ~96 KB on the node running it (measured: 2,000 tasks whose agent's tool call
 * waited on a server that never answered grew the heap by 192 MB) for as long as its model and
 * tool calls take, and a project's tools can be slow on purpose (its own MCP servers). Tasks
 * waiting for input do not count.
 */
export class ActiveTasksBound extends Effect.Service<ActiveTasksBound>()("Agents/ActiveTasksBound", {
  effect: Effect.gen(function*() {
    const repo = yield* TaskRepo
    const { maxActiveTasksPerProject: max } = yield* ActiveTasksBoundConfig.pipe(Effect.orDie)
    return makeBacklogBound({ max, count: repo.countActive, what: "tasks in progress" })
  }),
  dependencies: [TaskRepo.Default]
}) {}
