import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Schedule } from "effect"
import { isTerminal, textOf } from "../domain/Task.ts"
import { AgentRepo } from "../agents/AgentRepo.ts"
import { AgentTasks } from "../agents/AgentTasks.ts"
import type { StoredTask } from "../agents/TaskRepo.ts"
import { A2ASendError, type OutgoingMessage } from "./A2AClient.ts"
import type { AgentReply } from "../domain/Orchestration.ts"

/** Metadata key on the agent task that names the delivery it came from. */
const DELIVERY_KEY = "orchestratorDeliveryId"

const replyOf = (stored: StoredTask): Effect.Effect<AgentReply, A2ASendError> => {
  const task = stored.task
  const artifacts = task.artifacts.map((a) => textOf(a.parts)).filter((t) => t.length > 0)
  const status = task.status.message ? textOf(task.status.message.parts) : ""
  if (task.status.state !== "completed") {
    // The agent ran and refused or failed: its verdict, not a transport error.
    return Effect.fail(new A2ASendError({
      message: `agent task ${task.id} ended ${task.status.state}${status ? `: ${status}` : ""}`,
      retryable: false
    }))
  }
  return Effect.succeed({ text: artifacts.length > 0 ? artifacts.join("\n") : status, raw: task })
}

/**
 * Delivery to platform agents: the message becomes a task of the Agent entity
 * (persisted Execute). Idempotent per delivery: the task records the delivery
 * id, so a redelivered message (after a crash) waits for the task it already
 * started instead of running the agent a second time.
 */
export class LocalAgents extends Effect.Service<LocalAgents>()("Orchestrator/LocalAgents", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const agents = yield* AgentRepo
    const tasks = yield* AgentTasks

    const existingTask = (agentId: string, deliveryId: string) =>
      sql`SELECT id FROM agent_tasks WHERE agent_id = ${agentId} AND metadata ->> ${DELIVERY_KEY} = ${deliveryId}
          LIMIT 1`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0] as { id: string } | undefined)),
        Effect.orDie
      )

    /** Waits for a task started by an earlier attempt (its Execute is persisted and runs to the end). */
    const awaitTask = (taskId: string) =>
      tasks.getOrFail(taskId).pipe(
        Effect.mapError(() => new A2ASendError({ message: `agent task ${taskId} vanished`, retryable: false })),
        Effect.filterOrFail(
          (s) => isTerminal(s.task.status.state),
          () => new A2ASendError({ message: "still running", retryable: true })
        ),
        Effect.retry({ schedule: Schedule.spaced("250 millis"), while: (e) => e.retryable })
      )

    const send = (
      projectId: string,
      agentId: string,
      message: OutgoingMessage,
      timeout: Duration.DurationInput
    ): Effect.Effect<AgentReply, A2ASendError> =>
      Effect.gen(function*() {
        const agent = yield* agents.findInternal(agentId)
        if (Option.isNone(agent) || agent.value.projectId !== projectId) {
          return yield* new A2ASendError({ message: `local agent ${agentId} no longer exists`, retryable: false })
        }
        const previous = yield* existingTask(agentId, message.messageId)
        const stored = Option.isSome(previous)
          ? yield* awaitTask(previous.value.id)
          : yield* tasks.send({
            agent: agent.value,
            message: {
              messageId: message.messageId,
              role: "user",
              parts: [{ kind: "text", text: message.text }],
              ...(message.contextId ? { contextId: message.contextId } : {}),
              metadata: message.metadata
            },
            createdBy: null,
            metadata: { ...message.metadata, [DELIVERY_KEY]: message.messageId }
          }).pipe(
            // The project's tasks at their bound: a later attempt may find room (retried with backoff).
            Effect.mapError((e) => new A2ASendError({ message: `agent refused the message: ${e.message}`, retryable: e._tag === "TooManyRequests" }))
          )
        return yield* replyOf(stored)
      }).pipe(
        // A broken agent row or runtime defect is a verdict on this message, not a reason to retry forever.
        Effect.catchAllDefect((defect) =>
          Effect.logError("local agent delivery failed", defect).pipe(
            Effect.zipRight(Effect.fail(new A2ASendError({ message: "the agent could not run this message", retryable: false })))
          )
        ),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new A2ASendError({ message: `local agent did not finish within ${Duration.format(timeout)}`, retryable: true })
        })
      )

    return { send } as const
  }),
  dependencies: [AgentRepo.Default, AgentTasks.Default]
}) {}
