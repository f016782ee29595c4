import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { BadRequest, Conflict, GatewayTimeout, NotFound } from "../kernel/WireErrors.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { textOf } from "../domain/Task.ts"
import { AgentRepo, type AgentFields } from "./AgentRepo.ts"
import { AgentTasks } from "./AgentTasks.ts"
import type { Agent } from "../domain/Agent.ts"
import { AGENT_TEMPLATES } from "./Templates.ts"
import { capabilitiesOf } from "./Capabilities.ts"

/** The caller's view of an agent: 404 unless the caller is a member of its project. */
export const findVisibleAgent = (id: string) =>
  Effect.gen(function*() {
    const repo = yield* AgentRepo
    const projects = yield* visibleProjectIds
    const agent = yield* repo.find(id, projects)
    if (Option.isNone(agent)) return yield* Effect.fail(new NotFound({ message: "agent not found" }))
    return agent.value
  })

export const AgentsHttpLive = HttpApiBuilder.group(PlatformApi, "agents", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* AgentRepo
    const tasks = yield* AgentTasks
    return handlers
      .handle("list", ({ urlParams }) => Effect.flatMap(visibleProjectIds, (ids) => repo.list(ids, urlParams.projectId)))
      .handle("templates", () => Effect.succeed(AGENT_TEMPLATES))
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          const template = payload.templateId === undefined ? undefined : AGENT_TEMPLATES.find((t) => t.id === payload.templateId)
          if (payload.templateId !== undefined && template === undefined) {
            return yield* Effect.fail(new BadRequest({ message: `unknown template ${payload.templateId}` }))
          }
          const name = payload.name ?? template?.name
          if (name === undefined) return yield* Effect.fail(new BadRequest({ message: "name is required (or a templateId)" }))
          const user = yield* CurrentUser
          const fields: AgentFields = {
            name,
            description: payload.description ?? template?.description ?? "",
            provider: payload.provider ?? template?.provider ?? "local",
            model: payload.model ?? template?.model ?? "local",
            systemPrompt: payload.systemPrompt ?? template?.systemPrompt ?? "",
            tools: payload.tools ?? template?.tools ?? [],
            skills: payload.skills ?? template?.skills ?? [],
            config: payload.config ?? {}
          }
          return yield* repo.create(payload.projectId, fields, user.kind === "user" ? user.userId : null)
        }))
      .handle("get", ({ path }) => findVisibleAgent(path.id))
      .handle("update", ({ path, payload }) =>
        Effect.gen(function*() {
          const agent = yield* findVisibleAgent(path.id)
          yield* requireProjectRole(agent.projectId, "developer")
          const updated = yield* repo.update(agent.id, {
            name: payload.name ?? agent.name,
            description: payload.description ?? agent.description,
            provider: payload.provider ?? agent.provider,
            model: payload.model ?? agent.model,
            systemPrompt: payload.systemPrompt ?? agent.systemPrompt,
            tools: payload.tools ?? agent.tools,
            skills: payload.skills ?? agent.skills,
            config: payload.config ?? agent.config
          })
          return yield* Option.match(updated, {
            onNone: () => Effect.fail(new NotFound({ message: "agent not found" })),
            onSome: Effect.succeed
          })
        }))
      .handle("remove", ({ path }) =>
        Effect.gen(function*() {
          const agent = yield* findVisibleAgent(path.id)
          yield* requireProjectRole(agent.projectId, "developer")
          yield* repo.remove(agent.id)
        }))
      .handle("execute", ({ path, payload }) =>
        Effect.gen(function*() {
          const agent = yield* findVisibleAgent(path.id)
          yield* requireProjectRole(agent.projectId, "developer")
          const text = payload.task ?? payload.input
          if (text === undefined) return yield* Effect.fail(new BadRequest({ message: "task is required" }))
          const user = yield* CurrentUser
          const stored = yield* tasks.send(
            {
              agent,
              message: {
                messageId: crypto.randomUUID(),
                role: "user",
                parts: [
                  { kind: "text", text },
                  ...(payload.context ? [{ kind: "data" as const, data: payload.context }] : [])
                ],
                ...(payload.contextId ? { contextId: payload.contextId } : {}),
                ...(payload.taskId ? { taskId: payload.taskId } : {})
              },
              createdBy: user.kind === "user" ? user.userId : null
            },
            { returnImmediately: !payload.wait }
          ).pipe(
            Effect.timeoutFail({ duration: "5 minutes", onTimeout: () => new GatewayTimeout({ message: "the agent did not finish within 5 minutes" }) }),
            Effect.catchTags({
              TaskNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
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
        }))
      .handle("capabilities", ({ path }) => Effect.map(findVisibleAgent(path.id), capabilitiesOf))
      .handle("runs", ({ path }) => Effect.flatMap(findVisibleAgent(path.id), (agent) => tasks.runs(agent.id, 100)))
  })).pipe(Layer.provide(Layer.mergeAll(AgentRepo.Default, AgentTasks.Default)))
