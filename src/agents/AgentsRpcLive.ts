import { Effect, Layer, Option, Stream } from "effect"
import { AgentsRpcs, TasksRpcs } from "../../rpc/AgentsRpcs.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { CurrentUser } from "../domain/Identity.ts"
import type { TaskError } from "../domain/Task.ts"
import { Conflict, NotFound, type TooManyRequests } from "../kernel/WireErrors.ts"
import { findVisibleAgent } from "./AgentAccess.ts"
import { createAgent, deleteAgent, updateAgent } from "./AgentCommands.ts"
import { executeAgent } from "./AgentExecution.ts"
import { AgentLookup } from "./AgentLookup.ts"
import { AgentRepo } from "./AgentRepo.ts"
import { AgentTasks } from "./AgentTasks.ts"
import type { StoredTask } from "./TaskRepo.ts"

/** The RPC edge's words for the task domain errors (A2A maps the same ones to its codes). */
const wireError = (e: TaskError) =>
  e._tag === "TaskNotFound" || e._tag === "AgentNotFound" ? new NotFound({ message: e.message }) : new Conflict({ message: e.message })

const view = (t: StoredTask) => ({ agentId: t.agentId, projectId: t.projectId, task: t.task })

/** `agents.*` RPCs: the REST handlers' operations (src/agents/AgentCommands.ts, AgentExecution.ts). */
export const AgentsRpcLive = AgentsRpcs.toLayer(
  Effect.gen(function*() {
    const repo = yield* AgentRepo
    return AgentsRpcs.of({
      "agents.list": (page) => Effect.flatMap(visibleProjectIds, (ids) => repo.list(ids, page)),
      "agents.get": ({ id }) => findVisibleAgent(id),
      "agents.create": (payload) => createAgent(payload),
      "agents.update": ({ id, ...fields }) => updateAgent(id, fields),
      "agents.delete": ({ id }) => deleteAgent(id),
      "agents.execute": ({ agentId, text, data, contextId, wait }) =>
        Effect.flatMap(findVisibleAgent(agentId), (agent) => executeAgent(agent, { text, data, contextId, wait }))
    })
  })
)

/** `tasks.*` RPCs on AgentTasks, with the A2A handlers' visibility: another project's task does not exist. */
export const TasksRpcLive = TasksRpcs.toLayer(
  Effect.gen(function*() {
    const tasks = yield* AgentTasks

    const visibleTask = (taskId: string) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const stored = yield* tasks.find(taskId)
        if (Option.isNone(stored) || !user.projects.has(stored.value.projectId)) {
          return yield* new NotFound({ message: "task not found" })
        }
        return stored.value
      })

    return TasksRpcs.of({
      "tasks.get": ({ taskId }) => Effect.map(visibleTask(taskId), view),
      "tasks.list": ({ agentId, projectId, contextId, state, limit, offset }) =>
        Effect.gen(function*() {
          const agent = agentId === undefined ? undefined : yield* findVisibleAgent(agentId)
          const projectIds = projectId === undefined
            ? yield* visibleProjectIds
            : yield* Effect.as(requireProjectRole(projectId, "viewer").pipe(Effect.catchTag("Forbidden", (e) => new NotFound({ message: e.message }))), [projectId])
          const page = yield* tasks.list({ agentId: agent?.id, projectIds, contextId, state, limit, offset })
          return { tasks: page.tasks.filter((t) => projectIds.includes(t.projectId)).map(view), total: page.total }
        }),
      "tasks.cancel": ({ taskId }) =>
        Effect.gen(function*() {
          const stored = yield* visibleTask(taskId)
          yield* requireProjectRole(stored.projectId, "developer", "task")
          return view(yield* Effect.mapError(tasks.cancel(stored), wireError))
        }),
      "tasks.stream": ({ agentId, text, data, contextId }) =>
        Stream.unwrap(Effect.gen(function*() {
          const agent = yield* findVisibleAgent(agentId)
          yield* requireProjectRole(agent.projectId, "developer")
          const user = yield* CurrentUser
          return tasks.stream({
            agent,
            message: {
              messageId: crypto.randomUUID(),
              role: "user",
              parts: [{ kind: "text", text }, ...(data ? [{ kind: "data" as const, data }] : [])],
              ...(contextId ? { contextId } : {})
            },
            createdBy: user.kind === "user" ? user.userId : null
          }).pipe(Stream.mapError((e): NotFound | Conflict | TooManyRequests => e._tag === "TooManyRequests" ? e : wireError(e)))
        })),
      "tasks.subscribe": ({ taskId }) =>
        Stream.unwrap(Effect.map(visibleTask(taskId), () => tasks.subscribe(taskId).pipe(Stream.mapError(wireError))))
    })
  })
)

export const AgentsRpcHandlersLive = Layer.mergeAll(AgentsRpcLive, TasksRpcLive).pipe(
  Layer.provide(Layer.mergeAll(AgentRepo.Default, AgentLookup.Default, AgentTasks.Default))
)
