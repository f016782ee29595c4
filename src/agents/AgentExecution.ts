import { Effect } from "effect"
import type { Agent } from "../domain/Agent.ts"
import { CurrentUser } from "../domain/Identity.ts"
import { textOf } from "../domain/Task.ts"
import { requireProjectRole } from "../auth/ProjectAccess.ts"
import { Conflict, GatewayTimeout, NotFound } from "../kernel/WireErrors.ts"
import { AgentTasks } from "./AgentTasks.ts"

export interface ExecuteInput {
  readonly text: string
  readonly data?: Readonly<Record<string, unknown>> | undefined
  readonly contextId?: string | undefined
  readonly taskId?: string | undefined
  /** false: return the submitted task at once. */
  readonly wait: boolean
}

/**
 * One execution of an agent on a user message, shared by REST
 * `/agents/{id}/execute` and RPC `agents.execute`: developer role, a task on
 * the Agent entity, the reply text and the run's usage once it ended.
 */
export const executeAgent = (agent: Agent, input: ExecuteInput) =>
  Effect.gen(function*() {
    yield* requireProjectRole(agent.projectId, "developer")
    const tasks = yield* AgentTasks
    const user = yield* CurrentUser
    const stored = yield* tasks.send(
      {
        agent,
        message: {
          messageId: crypto.randomUUID(),
          role: "user",
          parts: [
            { kind: "text", text: input.text },
            ...(input.data ? [{ kind: "data" as const, data: input.data }] : [])
          ],
          ...(input.contextId ? { contextId: input.contextId } : {}),
          ...(input.taskId ? { taskId: input.taskId } : {})
        },
        createdBy: user.kind === "user" ? user.userId : null
      },
      { returnImmediately: !input.wait }
    ).pipe(
      Effect.timeoutFail({ duration: "5 minutes", onTimeout: () => new GatewayTimeout({ message: "the agent did not finish within 5 minutes" }) }),
      Effect.catchTags({
        TaskNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
        AgentNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
        TaskNotContinuable: (e) => Effect.fail(new Conflict({ message: e.message }))
      })
    )
    const run = (yield* tasks.runs(agent.id, 20)).find((r) => r.taskId === stored.task.id)
    const message = stored.task.status.message
    return {
      taskId: stored.task.id,
      contextId: stored.task.contextId,
      state: stored.task.status.state,
      output: message ? textOf(message.parts) : null,
      usage: run
        ? { inputTokens: run.inputTokens, outputTokens: run.outputTokens, costUsd: run.costUsd, steps: run.steps, provider: run.provider }
        : null
    }
  })
