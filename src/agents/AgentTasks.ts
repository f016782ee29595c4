import { Duration, Effect, Option, Schedule, Stream } from "effect"
import { A2aCodes, type A2aError, a2aError, taskNotFound } from "../../rpc/A2aRpcs.ts"
import { AgentEntity } from "../../entities/AgentEntity.ts"
import { type A2aMessage, isTerminal, type TaskEvent, type TaskState, textOf } from "../domain/Task.ts"
import { EventBus } from "../events/EventBus.ts"
import type { Agent } from "../domain/Agent.ts"
import { subscribeProgress, type TaskProgress } from "./TaskEvents.ts"
import { type StoredTask, TaskRepo } from "./TaskRepo.ts"

export interface SubmitInput {
  readonly agent: Agent
  readonly message: A2aMessage
  readonly createdBy: string | null
  readonly metadata?: Record<string, unknown> | undefined
}

/** SQL is the truth; this poll ends waits whose final event the bus dropped (or another node published). */
const POLL = Duration.millis(500)

/**
 * Task lifecycle as callers see it (REST execute, A2A, WebSocket chat): a
 * task row is written, the Agent entity is sent a persisted `Execute`, and
 * callers either return at once, wait for its reply (the end of the run), or
 * stream progress.
 * Callers have already checked the caller may use `agent`.
 */
export class AgentTasks extends Effect.Service<AgentTasks>()("Agents/AgentTasks", {
  effect: Effect.gen(function*() {
    const repo = yield* TaskRepo
    const bus = yield* EventBus
    const entity = yield* AgentEntity.client

    const submit = Effect.fn("AgentTasks.submit")(function*(input: SubmitInput) {
      if (input.message.taskId) {
        const existing = yield* repo.get(input.message.taskId)
        if (Option.isNone(existing) || existing.value.agentId !== input.agent.id) {
          return yield* Effect.fail(taskNotFound(input.message.taskId))
        }
        return yield* Effect.fail(a2aError(
          A2aCodes.UnsupportedOperation,
          `Task ${input.message.taskId} is ${existing.value.task.status.state}; send a new message without taskId to continue the context`
        ))
      }
      const taskId = crypto.randomUUID()
      const contextId = input.message.contextId ?? crypto.randomUUID()
      const message: A2aMessage = { ...input.message, taskId, contextId }
      return yield* repo.create({
        id: taskId,
        agentId: input.agent.id,
        projectId: input.agent.projectId,
        contextId,
        createdBy: input.createdBy,
        userMessage: {
          messageId: message.messageId,
          role: "user",
          parts: message.parts,
          llm: { role: "user", content: textOf(message.parts) }
        },
        ...(input.metadata ? { metadata: input.metadata } : {})
      })
    })

    /** Hands the task to its agent and returns once it is persisted (the run happens later). */
    const start = (agentId: string, taskId: string) =>
      entity(agentId).Execute({ taskId }, { discard: true }).pipe(Effect.orDie)

    /**
     * Hands the task to its agent and waits for the run's reply: handed over
     * in memory when this runner hosts the agent, read from storage (every
     * entityReplyPollInterval) when another one does; no event subscription
     * or task polling. A caller that stops waiting does not stop the run
     * (Execute is uninterruptible for clients).
     */
    const run = (agentId: string, taskId: string) =>
      entity(agentId).Execute({ taskId }).pipe(Effect.orDie)

    const load = (taskId: string) =>
      repo.get(taskId).pipe(Effect.flatMap(Option.match({
        onNone: () => Effect.fail(taskNotFound(taskId)),
        onSome: Effect.succeed
      })))

    /** Progress until the task ends: live events, with SQL polled so a lost final event cannot hang a caller. */
    const progressUntilEnd = (agentId: string, taskId: string, live: Stream.Stream<TaskProgress>) => {
      const poll = Stream.repeatEffectWithSchedule(repo.get(taskId), Schedule.spaced(POLL)).pipe(
        Stream.filterMap((t) => Option.filter(t, (s) => isTerminal(s.task.status.state))),
        Stream.map((s): TaskProgress => ({
          type: "status",
          taskId,
          contextId: s.task.contextId,
          status: s.task.status,
          final: true
        })),
        Stream.take(1)
      )
      return Stream.merge(live, poll, { haltStrategy: "either" }).pipe(
        Stream.takeUntil((p) => p.type === "status" && p.final)
      )
    }

    /** Submits and returns once the task is terminal (or `returnImmediately`, as submitted). */
    const send = (input: SubmitInput, options: { readonly returnImmediately?: boolean } = {}) =>
      Effect.gen(function*() {
        const submitted = yield* submit(input)
        if (options.returnImmediately) {
          yield* start(input.agent.id, submitted.task.id)
          return submitted
        }
        yield* run(input.agent.id, submitted.task.id)
        return yield* load(submitted.task.id)
      })

    /** A2A streaming: the task snapshot first, then status and artifact updates up to the final status. */
    const toEvents = (stored: StoredTask, live: Stream.Stream<TaskProgress>): Stream.Stream<TaskEvent> => {
      let streamedText = false
      return Stream.concat(
        Stream.succeed<TaskEvent>({ kind: "task", task: stored.task }),
        progressUntilEnd(stored.agentId, stored.task.id, live).pipe(
          Stream.filterMap((p): Option.Option<TaskEvent> => {
            switch (p.type) {
              case "status":
                return Option.some({ kind: "status-update", taskId: p.taskId, contextId: p.contextId, status: p.status, final: p.final })
              case "delta": {
                const append = streamedText
                streamedText = true
                return Option.some({
                  kind: "artifact-update",
                  taskId: p.taskId,
                  contextId: p.contextId,
                  artifact: { artifactId: "response", name: "response", parts: [{ kind: "text", text: p.text }] },
                  append,
                  lastChunk: false
                })
              }
              case "artifact":
                // Already streamed chunk by chunk: only close it.
                return Option.some({
                  kind: "artifact-update",
                  taskId: p.taskId,
                  contextId: p.contextId,
                  artifact: streamedText ? { ...p.artifact, parts: [] } : p.artifact,
                  append: streamedText,
                  lastChunk: true
                })
              case "tool":
                return Option.none()
            }
          })
        )
      )
    }

    const stream = (input: SubmitInput): Stream.Stream<TaskEvent, A2aError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const stored = yield* submit(input)
        const live = yield* subscribeProgress(input.agent.id, stored.task.id).pipe(Effect.provideService(EventBus, bus))
        yield* start(input.agent.id, stored.task.id)
        return toEvents(stored, live)
      }))

    /** Re-attach to a running task's stream (reconnect / resubscribe). */
    const subscribe = (taskId: string) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const first = yield* load(taskId)
        const live = yield* subscribeProgress(first.agentId, taskId).pipe(Effect.provideService(EventBus, bus))
        const stored = yield* load(taskId)
        if (isTerminal(stored.task.status.state)) {
          return yield* Effect.fail(a2aError(A2aCodes.UnsupportedOperation, `Task ${taskId} is ${stored.task.status.state}; there is nothing to subscribe to`))
        }
        return toEvents(stored, live)
      }))

    /** Waits until the task is terminal (push notifications). */
    const awaitEnd = (agentId: string, taskId: string) =>
      Effect.scoped(Effect.gen(function*() {
        const live = yield* subscribeProgress(agentId, taskId).pipe(Effect.provideService(EventBus, bus))
        const now = yield* load(taskId)
        if (!isTerminal(now.task.status.state)) yield* Stream.runDrain(progressUntilEnd(agentId, taskId, live))
        return yield* load(taskId)
      }))

    const cancel = (stored: StoredTask) =>
      Effect.gen(function*() {
        if (isTerminal(stored.task.status.state)) {
          return yield* Effect.fail(a2aError(A2aCodes.TaskNotCancelable, `Task not cancelable: ${stored.task.id} is ${stored.task.status.state}`))
        }
        const outcome = yield* entity(stored.agentId).Cancel({ taskId: stored.task.id }).pipe(Effect.orDie)
        if (outcome.state !== "canceled") {
          return yield* Effect.fail(a2aError(A2aCodes.TaskNotCancelable, `Task not cancelable: ${stored.task.id} is ${outcome.state}`))
        }
        return yield* load(stored.task.id)
      })

    return {
      send,
      stream,
      subscribe,
      cancel,
      awaitEnd,
      get: repo.get,
      load,
      list: repo.list,
      runs: repo.runs,
      pushConfigs: repo.pushConfigs,
      putPushConfig: repo.putPushConfig,
      deletePushConfig: repo.deletePushConfig
    } as const
  }),
  dependencies: [TaskRepo.Default]
}) {}

export type { TaskState }
