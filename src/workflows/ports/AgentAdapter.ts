import { Effect, Layer, Option } from "effect"
import { textOf } from "../../a2a/Model.ts"
import { AgentRepo } from "../../agents/AgentRepo.ts"
import { AgentTasks } from "../../agents/AgentTasks.ts"
import { BackendError } from "../Errors.ts"
import { WorkflowAgentPort } from "./AgentPort.ts"

/**
 * `agent` steps as A2A tasks of the project's agent (the Agent entity runs
 * them): the rendered input is the user message, the step waits for the task
 * to end and outputs its text and artifacts. A task that ends other than
 * `completed` fails the step (retryable when it `failed`).
 */
export const AgentAdapterLive = Layer.effect(
  WorkflowAgentPort,
  Effect.gen(function*() {
    const tasks = yield* AgentTasks
    const agents = yield* AgentRepo
    return {
      invoke: (r) =>
        Effect.gen(function*() {
          const agent = yield* agents.find(r.agentId, [r.projectId])
          if (Option.isNone(agent)) {
            return yield* new BackendError({ message: `agent ${r.agentId} not found in this project`, retryable: false })
          }
          const text = typeof r.input === "string" ? r.input : JSON.stringify(r.input)
          const stored = yield* tasks.send({
            agent: agent.value,
            message: { messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "text", text }] },
            createdBy: null,
            metadata: { workflowRunId: r.runId, workflowStep: r.stepKey }
          }).pipe(Effect.mapError((e) => new BackendError({ message: `agent ${r.agentId}: ${e.message}`, retryable: true })))
          const task = stored.task
          const statusText = task.status.message ? textOf(task.status.message.parts) : ""
          if (task.status.state !== "completed") {
            return yield* new BackendError({
              message: `agent ${r.agentId} task ${task.id} ended ${task.status.state}${statusText ? `: ${statusText.slice(0, 300)}` : ""}`,
              retryable: task.status.state === "failed"
            })
          }
          const artifactText = task.artifacts.map((a) => textOf(a.parts)).join("\n")
          return { taskId: task.id, contextId: task.contextId, text: artifactText || statusText, artifacts: task.artifacts }
        })
    }
  })
).pipe(Layer.provide(Layer.merge(AgentTasks.Default, AgentRepo.Default)))
