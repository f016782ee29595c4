import { Duration, Effect, Option, Schedule, Stream } from "effect"
import { AgentEntity, type NewTask } from "../../entities/AgentEntity.ts"
import {
  type A2aMessage,
  AgentNotFound,
  isTerminal,
  TaskNotCancelable,
  TaskNotContinuable,
  TaskNotFound,
  TaskNotSubscribable,
  type TaskProgress,
  type TaskState
} from "../domain/Task.ts"
import { EventBus } from "../events/EventBus.ts"
import type { TooManyRequests } from "../kernel/WireErrors.ts"
import type { Agent } from "../domain/Agent.ts"
import { subscribeProgressOn } from "./TaskEvents.ts"
import { withRequestWrite } from "../cluster/RequestWrites.ts"
import { createRow, createWrite, executeKey } from "./TaskCreateWrite.ts"
import { type StoredTask, TaskRepo, userMessageEntry } from "./TaskRepo.ts"
import { ActiveTasksBound } from "./ActiveTasksBound.ts"

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
 * stream progress. Fails with the task domain errors; each edge maps them.
 * Callers have already checked the caller may use `agent`.
 */
export class AgentTasks extends Effect.Service<AgentTasks>()("Agents/AgentTasks", {
  effect: Effect.gen(function*() {
    const repo = yield* TaskRepo
    const bus = yield* EventBus
    const entity = yield* AgentEntity.client
    const bound = yield* ActiveTasksBound

    /** The task row and its first message; a message naming an existing task cannot continue it. */
    const createTask = Effect.fn("AgentTasks.createTask")(function*(input: SubmitInput) {
      if (input.message.taskId) {
        const existing = yield* repo.get(input.message.taskId)
        if (Option.isNone(existing) || existing.value.agentId !== input.agent.id) {
          return yield* new TaskNotFound({ taskId: input.message.taskId })
        }
        return yield* new TaskNotContinuable({ taskId: input.message.taskId, state: existing.value.task.status.state })
      }
      // Refused before anything is stored.
      yield* bound.check(input.agent.projectId)
      const taskId = crypto.randomUUID()
      const contextId = input.message.contextId ?? crypto.randomUUID()
      const message: A2aMessage = { ...input.message, taskId, contextId }
      const created = yield* repo.create({
        id: taskId,
        agentId: input.agent.id,
        projectId: input.agent.projectId,
        contextId,
        createdBy: input.createdBy,
        userMessage: userMessageEntry(message.messageId, message.parts),
        ...(input.metadata ? { metadata: input.metadata } : {})
      })
      if (Option.isNone(created)) return yield* new AgentNotFound({ agentId: input.agent.id })
      yield* bound.started(input.agent.projectId)
      return created.value
    })

    /** Hands the task to its agent and returns once it is persisted (the run happens later). */
    const enqueueExecution = (agentId: string, taskId: string) =>
      entity(agentId).Execute({ taskId }, { discard: true }).pipe(Effect.orDie)

    /**
     * Hands the task to its agent and waits for the run's reply: handed over
     * in memory when this runner hosts the agent, read from storage (every
     * entityReplyPollInterval) when another one does; no event subscription
     * or task polling. A caller that stops waiting does not stop the run
     * (Execute is uninterruptible for clients).
     */
    const executeAndAwait = (agentId: string, taskId: string, create: NewTask) =>
      // The task is created in the statement that stores the Execute (TaskCreateWrite.ts).
      withRequestWrite(
        executeKey(agentId, taskId),
        createWrite,
        createRow(taskId, agentId, create),
        entity(agentId).Execute({ taskId, create })
      ).pipe(Effect.orDie)

    const getOrFail = (taskId: string) =>
      repo.get(taskId).pipe(Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new TaskNotFound({ taskId })),
        onSome: Effect.succeed
      })))

    /** Progress until the task ends: live events, with SQL polled so a lost final event cannot hang a caller. */
    const progressUntilEnd = (taskId: string, live: Stream.Stream<TaskProgress>) => {
      const poll = Stream.repeatEffectWithSchedule(repo.get(taskId), Schedule.spaced(POLL)).pipe(
        Stream.filterMap((t) => Option.filter(t, (s) => isTerminal(s.task.status.state))),
        Stream.map((s): TaskProgress => ({
          _tag: "Status",
          taskId,
          contextId: s.task.contextId,
          status: s.task.status,
          final: true
        })),
        Stream.take(1)
      )
      return Stream.merge(live, poll, { haltStrategy: "either" }).pipe(
        Stream.takeUntil((p) => p._tag === "Status" && p.final)
      )
    }

    /**
     * Submits and returns once the task is terminal (or `returnImmediately`, as submitted).
     * A blocking send writes no task row first: the caller learns the task's id only from the
     * answer, so the task is written already claimed with the persisted `Execute`, in the
     * statement that stores it (TaskCreateWrite.ts): one statement and one commit per send.
     */
    const send = (input: SubmitInput, options: { readonly returnImmediately?: boolean } = {}) =>
      Effect.gen(function*() {
        if (options.returnImmediately || input.message.taskId) {
          const submitted = yield* createTask(input)
          yield* enqueueExecution(input.agent.id, submitted.task.id)
          return submitted
        }
        yield* bound.check(input.agent.projectId)
        // Counted before it is stored: the answer comes only when the run ends. One that fails to
        // be stored stays counted until the project's next count (conservative).
        yield* bound.started(input.agent.projectId)
        const taskId = crypto.randomUUID()
        const outcome = yield* executeAndAwait(input.agent.id, taskId, {
          projectId: input.agent.projectId,
          contextId: input.message.contextId ?? crypto.randomUUID(),
          createdBy: input.createdBy,
          messageId: input.message.messageId,
          parts: input.message.parts,
          ...(input.metadata ? { metadata: input.metadata } : {})
        })
        // The run that ended the task sends it back as it stored it; otherwise (already ended, canceled) read it.
        if (outcome.task !== undefined) return { task: outcome.task, agentId: input.agent.id, projectId: input.agent.projectId }
        const stored = yield* repo.get(taskId)
        // The run writes the task unless its agent is gone (deleted since this request named it).
        if (Option.isNone(stored)) return yield* new AgentNotFound({ agentId: input.agent.id })
        return stored.value
      })

    /** The task as stored, then its progress up to the final status. */
    const fromSnapshot = (stored: StoredTask, live: Stream.Stream<TaskProgress>): Stream.Stream<TaskProgress> =>
      Stream.concat(Stream.succeed<TaskProgress>({ _tag: "Snapshot", task: stored.task }), progressUntilEnd(stored.task.id, live))

    const listen = (agentId: string, taskId: string) =>
      subscribeProgressOn(bus, agentId, taskId)

    /** Submits and streams: the snapshot first, then progress up to the final status. */
    const stream = (input: SubmitInput): Stream.Stream<TaskProgress, TaskNotFound | TaskNotContinuable | AgentNotFound | TooManyRequests> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const stored = yield* createTask(input)
        const live = yield* listen(input.agent.id, stored.task.id)
        yield* enqueueExecution(input.agent.id, stored.task.id)
        return fromSnapshot(stored, live)
      }))

    /** Re-attach to a running task's stream (reconnect / resubscribe). */
    const subscribe = (taskId: string): Stream.Stream<TaskProgress, TaskNotFound | TaskNotSubscribable> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const first = yield* getOrFail(taskId)
        const live = yield* listen(first.agentId, taskId)
        // Read again after subscribing: an end published in between is then in the row.
        const stored = yield* getOrFail(taskId)
        if (isTerminal(stored.task.status.state)) {
          return yield* new TaskNotSubscribable({ taskId, state: stored.task.status.state })
        }
        return fromSnapshot(stored, live)
      }))

    /** Waits until the task is terminal (push notifications). */
    const awaitEnd = (agentId: string, taskId: string) =>
      Effect.scoped(Effect.gen(function*() {
        const live = yield* listen(agentId, taskId)
        const now = yield* getOrFail(taskId)
        if (!isTerminal(now.task.status.state)) yield* Stream.runDrain(progressUntilEnd(taskId, live))
        return yield* getOrFail(taskId)
      }))

    const cancel = (stored: StoredTask) =>
      Effect.gen(function*() {
        if (isTerminal(stored.task.status.state)) {
          return yield* new TaskNotCancelable({ taskId: stored.task.id, state: stored.task.status.state })
        }
        const outcome = yield* entity(stored.agentId).Cancel({ taskId: stored.task.id }).pipe(Effect.orDie)
        if (outcome.state !== "canceled") return yield* new TaskNotCancelable({ taskId: stored.task.id, state: outcome.state })
        return yield* getOrFail(stored.task.id)
      })

    return {
      send,
      stream,
      subscribe,
      cancel,
      awaitEnd,
      find: repo.get,
      getOrFail,
      list: repo.list,
      runs: repo.runs,
      pushConfigs: repo.pushConfigs,
      putPushConfig: repo.putPushConfig,
      deletePushConfig: repo.deletePushConfig
    } as const
  }),
  dependencies: [TaskRepo.Default, ActiveTasksBound.Default]
}) {}

export type { TaskState }
