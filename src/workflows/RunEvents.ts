import { Effect } from "effect"
import { EventBus } from "../events/EventBus.ts"

/** Run progress on the platform EventBus, topic `workflows/runs/<runId>`, for WebSocket subscribers. */
export class RunEvents extends Effect.Service<RunEvents>()("Workflows/RunEvents", {
  effect: Effect.gen(function*() {
    const bus = yield* EventBus
    return {
      publish: (projectId: string, runId: string, type: string, data: Record<string, unknown>) =>
        bus.publish({ topic: `workflows/runs/${runId}`, type: `workflow.${type}`, projectId, data: { runId, ...data } })
    } as const
  })
}) {}
