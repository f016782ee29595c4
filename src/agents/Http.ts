import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { BadRequest, NotFound } from "../kernel/WireErrors.ts"
import { textOf } from "../domain/Task.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { AgentLookup } from "./AgentLookup.ts"
import { AgentRepo } from "./AgentRepo.ts"
import { AgentTasks } from "./AgentTasks.ts"
import { AGENT_TEMPLATES } from "./Templates.ts"
import { capabilitiesOf } from "./Capabilities.ts"
import { findVisibleAgent } from "./AgentAccess.ts"
import { executeAgent } from "./AgentExecution.ts"
import { createAgent, deleteAgent, updateAgent } from "./AgentCommands.ts"

export const AgentsHttpLive = HttpApiBuilder.group(PlatformApi, "agents", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* AgentRepo
    const tasks = yield* AgentTasks
    return handlers
      .handle("list", ({ urlParams }) => Effect.flatMap(visibleProjectIds, (ids) => repo.list(ids, urlParams)))
      .handle("templates", () => Effect.succeed(AGENT_TEMPLATES))
      .handle("create", ({ payload }) => createAgent(payload))
      .handle("bySlug", ({ path }) =>
        Effect.gen(function*() {
          const agent = yield* repo.findBySlug(path.projectId, path.slug, yield* visibleProjectIds)
          if (Option.isNone(agent)) return yield* Effect.fail(new NotFound({ message: "agent not found" }))
          return agent.value
        }))
      .handle("get", ({ path }) => findVisibleAgent(path.id))
      .handle("update", ({ path, payload }) => updateAgent(path.id, payload))
      .handle("remove", ({ path }) => deleteAgent(path.id))
      .handle("execute", ({ path, payload }) =>
        Effect.gen(function*() {
          const agent = yield* findVisibleAgent(path.id)
          const text = payload.task ?? payload.input
          if (text === undefined) {
            yield* requireProjectRole(agent.projectId, "developer")
            return yield* Effect.fail(new BadRequest({ message: "task is required" }))
          }
          return yield* executeAgent(agent, { text, data: payload.context, contextId: payload.contextId, taskId: payload.taskId, wait: payload.wait })
        }))
      .handle("capabilities", ({ path }) => Effect.map(findVisibleAgent(path.id), capabilitiesOf))
      .handle("task", ({ path }) =>
        Effect.gen(function*() {
          // The agent check first: another tenant's agent and another agent's task read the same (404).
          const agent = yield* findVisibleAgent(path.id)
          const stored = yield* tasks.find(path.taskId)
          if (Option.isNone(stored) || stored.value.agentId !== agent.id) {
            return yield* Effect.fail(new NotFound({ message: "task not found" }))
          }
          const task = stored.value.task
          const message = task.status.message
          return {
            id: task.id,
            agentId: agent.id,
            contextId: task.contextId,
            state: task.status.state,
            output: message ? textOf(message.parts) : null,
            status: task.status,
            artifacts: task.artifacts,
            history: task.history
          }
        }))
      .handle("runs", ({ path }) => Effect.flatMap(findVisibleAgent(path.id), (agent) => tasks.runs(agent.id, 100)))
  })).pipe(Layer.provide(Layer.mergeAll(AgentRepo.Default, AgentLookup.Default, AgentTasks.Default)))
