import { Effect, Stream } from "effect"
import type { A2aMessage, Artifact, TaskStatus } from "../domain/Task.ts"
import { EventBus } from "../events/EventBus.ts"

/**
 * Live progress of a task, fanned out on the EventBus (Redis across nodes)
 * under `agents/<agentId>/tasks/<taskId>`: A2A SSE, WebSocket chat and
 * blocking sends all listen there; SQL holds the durable state.
 */
export type TaskProgress =
  | { readonly type: "status"; readonly taskId: string; readonly contextId: string; readonly status: TaskStatus; readonly final: boolean }
  | { readonly type: "delta"; readonly taskId: string; readonly contextId: string; readonly text: string; readonly step: number }
  | {
    readonly type: "tool"
    readonly taskId: string
    readonly contextId: string
    readonly phase: "started" | "finished"
    readonly name: string
    readonly callId: string
    readonly isError?: boolean
  }
  | { readonly type: "artifact"; readonly taskId: string; readonly contextId: string; readonly artifact: Artifact }

export const taskTopic = (agentId: string, taskId: string) => `agents/${agentId}/tasks/${taskId}`

export const publishProgress = (agentId: string, projectId: string, progress: TaskProgress) =>
  Effect.flatMap(EventBus, (bus) =>
    bus.publish({ topic: taskTopic(agentId, progress.taskId), type: `task.${progress.type}`, projectId, data: progress }))

/**
 * Subscribes now (in the caller's scope) and returns the task's progress from
 * this point on. Callers subscribe before starting the work they wait for,
 * and still poll SQL as a fallback: a bus may drop events (sliding buffer).
 */
export const subscribeProgress = (agentId: string, taskId: string) =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const topic = taskTopic(agentId, taskId)
    // toPull subscribes now, in the caller's scope: nothing published after this returns is missed.
    const pull = yield* Stream.toPull(bus.subscribe(topic).pipe(Stream.filter((e) => e.topic === topic)))
    return Stream.repeatEffectChunkOption(pull).pipe(Stream.map((e) => e.data as TaskProgress))
  })

export type { A2aMessage }
