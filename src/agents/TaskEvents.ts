import { Effect, Option, Schema, Stream } from "effect"
import { type PublishedProgress, TaskProgress } from "../domain/Task.ts"
import { EventBus, type EventBusShape } from "../events/EventBus.ts"

/**
 * Live progress of a task, fanned out on the EventBus (Redis across nodes)
 * under `agents/<agentId>/tasks/<taskId>`: A2A SSE, WebSocket chat and
 * blocking sends all listen there; SQL holds the durable state.
 */
export const taskTopic = (agentId: string, taskId: string) => `agents/${agentId}/tasks/${taskId}`

/** The bus event of one progress step of a task. */
export const progressEvent = (agentId: string, projectId: string, progress: PublishedProgress) => ({
  topic: taskTopic(agentId, progress.taskId),
  type: `task.${progress._tag.toLowerCase()}`,
  projectId,
  data: progress
})

export const publishProgress = (agentId: string, projectId: string, progress: PublishedProgress) =>
  Effect.flatMap(EventBus, (bus) => bus.publish(progressEvent(agentId, projectId, progress)))

const decodeProgress = Schema.decodeUnknown(TaskProgress)

/**
 * Subscribes now (in the caller's scope) and returns the task's progress from
 * this point on. Callers subscribe before starting the work they wait for,
 * and still poll SQL as a fallback: a bus may drop events (sliding buffer).
 * Payloads are decoded, not trusted: across nodes they come from Redis.
 */
export const subscribeProgress = (agentId: string, taskId: string) =>
  Effect.flatMap(EventBus, (bus) => subscribeProgressOn(bus, agentId, taskId))

/** `subscribeProgress` on a bus the caller holds (no service to provide per call). */
export const subscribeProgressOn = (bus: EventBusShape, agentId: string, taskId: string) =>
  Effect.gen(function*() {
    const topic = taskTopic(agentId, taskId)
    // subscribeNow: a plain subscribe would only start listening at the first pull, missing what is published before it.
    const events = yield* bus.subscribeNow(topic)
    return events.pipe(
      Stream.filter((e) => e.topic === topic),
      Stream.mapEffect((e) =>
        decodeProgress(e.data).pipe(
          // A malformed event is skipped: the SQL poll still ends the wait.
          Effect.tapError((error) => Effect.logWarning("undecodable task progress event", error.message)),
          Effect.option
        )
      ),
      Stream.filterMap((p): Option.Option<TaskProgress> => p)
    )
  })
