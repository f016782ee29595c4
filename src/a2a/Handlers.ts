import { Effect, Option, Stream } from "effect"
import { A2aCodes, a2aError } from "../../rpc/A2aRpcs.ts"
import { hasRole } from "../auth/ProjectAccess.ts"
import { AgentRepo } from "../agents/AgentRepo.ts"
import { AgentTasks } from "../agents/AgentTasks.ts"
import type { Agent } from "../domain/Agent.ts"
import { capabilitiesOf } from "../agents/Capabilities.ts"
import type { StoredTask } from "../agents/TaskRepo.ts"
import { agentCard, platformCard } from "./AgentCard.ts"
import type { CallContext } from "./CallContext.ts"
import type { A2aHandlers } from "./JsonRpc.ts"
import { type A2aMessage, TaskNotFound, textOf } from "../domain/Task.ts"
import { PushNotifier } from "./Push.ts"
import { parseStateFilter, parseV03Message, parseV1Message, renderProgress, renderSendResult, renderTask, type Version } from "./Wire.ts"

const agentIdHint = (...sources: ReadonlyArray<Record<string, unknown> | undefined>) => {
  for (const s of sources) if (typeof s?.agentId === "string") return s.agentId
  return undefined
}

/** The A2A methods, v1.0 and v0.3 sharing one implementation per operation. */
export const makeA2aHandlers = Effect.gen(function*() {
  const agents = yield* AgentRepo
  const tasks = yield* AgentTasks
  const push = yield* PushNotifier

  const visible = (ctx: CallContext) => [...ctx.principal.projects.keys()]

  const resolveAgent = (ctx: CallContext, hint: string | undefined) =>
    Effect.gen(function*() {
      if (Option.isSome(ctx.agent)) return ctx.agent.value
      if (hint === undefined) {
        return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: the platform endpoint needs metadata.agentId (or use /agents/{id}/a2a)"))
      }
      const agent = yield* agents.find(hint, visible(ctx))
      if (Option.isNone(agent)) return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, `Invalid params: no agent ${hint}`))
      return agent.value
    })

  const requireDeveloper = (ctx: CallContext, agent: Agent) =>
    hasRole(ctx.principal.projects.get(agent.projectId), "developer")
      ? Effect.void
      : Effect.fail(a2aError(A2aCodes.InvalidRequest, "Forbidden: sending to this agent requires the developer role"))

  /** A task the caller may see: of this endpoint's agent, and of one of the caller's projects. */
  const findTask = (ctx: CallContext, id: string) =>
    Effect.gen(function*() {
      const stored = yield* tasks.find(id)
      if (Option.isNone(stored)) return yield* new TaskNotFound({ taskId: id })
      const t = stored.value
      const ok = ctx.principal.projects.has(t.projectId) && Option.match(ctx.agent, { onNone: () => true, onSome: (a) => a.id === t.agentId })
      // Another project's task is "not found": its existence is not the caller's to learn.
      if (!ok) return yield* new TaskNotFound({ taskId: id })
      return t
    })

  /** The agent of a task `findTask` let through: the endpoint's own (already read by Routes), else read now. */
  const agentOfTask = (ctx: CallContext, t: StoredTask) =>
    Option.match(ctx.agent, {
      onSome: Effect.succeed,
      onNone: () =>
        agents.findInternal(t.agentId).pipe(Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new TaskNotFound({ taskId: t.task.id })),
          onSome: Effect.succeed
        })))
    })

  const userMessage = (m: A2aMessage) =>
    m.role === "user" ? Effect.succeed(m) : Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: message.role must be user"))

  const send = (ctx: CallContext, v: Version, m: A2aMessage, hint: string | undefined, o: {
    readonly returnImmediately: boolean
    readonly historyLength?: number | undefined
    readonly pushConfig?: { id?: string | undefined; url: string; token?: string | undefined; authentication?: unknown } | undefined
    readonly metadata?: Record<string, unknown> | undefined
  }) =>
    Effect.gen(function*() {
      const agent = yield* resolveAgent(ctx, hint)
      yield* requireDeveloper(ctx, agent)
      const message = yield* userMessage(m)
      const input = { agent, message, createdBy: ctx.principal.kind === "user" ? ctx.principal.userId : null, metadata: o.metadata }
      if (o.pushConfig) {
        yield* push.check(o.pushConfig.url)
        // The config needs the task id: submit without waiting, register, then wait like a blocking call would.
        const submitted = yield* tasks.send(input, { returnImmediately: true })
        yield* push.register(submitted, o.pushConfig)
        const done = o.returnImmediately ? submitted : yield* tasks.awaitEnd(agent.id, submitted.task.id)
        return renderSendResult(v, done.task, o.historyLength)
      }
      const stored = yield* tasks.send(input, { returnImmediately: o.returnImmediately })
      return renderSendResult(v, stored.task, o.historyLength)
    })

  const stream = (ctx: CallContext, v: Version, m: A2aMessage, hint: string | undefined, metadata?: Record<string, unknown>) =>
    Stream.unwrap(Effect.gen(function*() {
      const agent = yield* resolveAgent(ctx, hint)
      yield* requireDeveloper(ctx, agent)
      const message = yield* userMessage(m)
      return renderProgress(v, tasks.stream({ agent, message, createdBy: ctx.principal.kind === "user" ? ctx.principal.userId : null, metadata }))
    }))

  const cancel = (ctx: CallContext, v: Version, id: string) =>
    Effect.gen(function*() {
      const t = yield* findTask(ctx, id)
      yield* requireDeveloper(ctx, yield* agentOfTask(ctx, t))
      const canceled = yield* tasks.cancel(t)
      return renderTask(v, canceled.task)
    })

  const resubscribe = (ctx: CallContext, v: Version, id: string) =>
    Stream.unwrap(Effect.map(findTask(ctx, id), () => renderProgress(v, tasks.subscribe(id))))

  const card = (ctx: CallContext) =>
    Effect.succeed(Option.match(ctx.agent, { onNone: () => platformCard(ctx.baseUrl), onSome: (a) => agentCard(a, ctx.baseUrl) }))

  /** Push tokens and credentials are shown to those who may set them (developers), never to viewers. */
  const mayReveal = (ctx: CallContext, t: StoredTask) => hasRole(ctx.principal.projects.get(t.projectId), "developer")

  const pushView = (taskId: string, c: { id: string; url: string; token: string | null; authentication: unknown }, reveal: boolean) => ({
    id: c.id,
    taskId,
    url: c.url,
    ...(reveal && c.token ? { token: c.token } : {}),
    ...(reveal && c.authentication ? { authentication: c.authentication } : {})
  })

  const getPush = (ctx: CallContext, taskId: string, id: string | undefined) =>
    Effect.gen(function*() {
      const t = yield* findTask(ctx, taskId)
      const configs = yield* tasks.pushConfigs(taskId)
      const found = id === undefined ? configs[0] : configs.find((c) => c.id === id)
      if (!found) return yield* Effect.fail(a2aError(A2aCodes.TaskNotFound, `Push notification config not found for task ${taskId}`))
      return pushView(taskId, found, mayReveal(ctx, t))
    })

  const setPush = (ctx: CallContext, taskId: string, config: { id?: string | undefined; url: string; token?: string | undefined; authentication?: unknown }) =>
    Effect.gen(function*() {
      const t = yield* findTask(ctx, taskId)
      yield* requireDeveloper(ctx, yield* agentOfTask(ctx, t))
      yield* push.check(config.url)
      const id = yield* push.register(t, config)
      return yield* getPush(ctx, taskId, id)
    })

  const deletePush = (ctx: CallContext, taskId: string, id: string) =>
    Effect.gen(function*() {
      const t = yield* findTask(ctx, taskId)
      yield* requireDeveloper(ctx, yield* agentOfTask(ctx, t))
      const deleted = yield* tasks.deletePushConfig(taskId, id)
      if (!deleted) return yield* Effect.fail(a2aError(A2aCodes.TaskNotFound, `Push notification config ${id} not found`))
      return null
    })

  const handlers: A2aHandlers = {
    SendMessage: (p, ctx) =>
      send(ctx, "1.0", parseV1Message(p.message), agentIdHint(p.metadata, p.message.metadata), {
        returnImmediately: p.configuration?.returnImmediately ?? false,
        historyLength: p.configuration?.historyLength,
        pushConfig: p.configuration?.taskPushNotificationConfig,
        metadata: p.metadata
      }),
    SendStreamingMessage: (p, ctx) =>
      stream(ctx, "1.0", parseV1Message(p.message), agentIdHint(p.metadata, p.message.metadata), p.metadata),
    GetTask: (p, ctx) => Effect.map(findTask(ctx, p.id), (t) => renderTask("1.0", t.task, p.historyLength)),
    ListTasks: (p, ctx) =>
      Effect.gen(function*() {
        const pageSize = p.pageSize ?? 50
        const offset = Math.max(0, Number.parseInt(p.pageToken ?? "0", 10) || 0)
        const state = p.status === undefined ? undefined : parseStateFilter(p.status)
        const agentId = Option.getOrUndefined(Option.map(ctx.agent, (a) => a.id))
        const page = yield* tasks.list({ agentId, projectIds: visible(ctx), contextId: p.contextId, state, limit: pageSize, offset })
        return {
          tasks: page.tasks.map((t) => {
            const rendered = renderTask("1.0", t.task, p.historyLength ?? 0)
            return p.includeArtifacts ? rendered : { ...rendered, artifacts: undefined }
          }),
          nextPageToken: offset + page.tasks.length < page.total ? String(offset + page.tasks.length) : "",
          pageSize,
          totalSize: page.total
        }
      }),
    CancelTask: (p, ctx) => cancel(ctx, "1.0", p.id),
    SubscribeToTask: (p, ctx) => resubscribe(ctx, "1.0", p.id),
    CreateTaskPushNotificationConfig: (p, ctx) =>
      p.taskId === undefined
        ? Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: taskId is required"))
        : setPush(ctx, p.taskId, p),
    GetTaskPushNotificationConfig: (p, ctx) => getPush(ctx, p.taskId, p.id),
    ListTaskPushNotificationConfigs: (p, ctx) =>
      Effect.gen(function*() {
        const t = yield* findTask(ctx, p.taskId)
        const configs = yield* tasks.pushConfigs(p.taskId)
        return { configs: configs.map((c) => pushView(p.taskId, c, mayReveal(ctx, t))), nextPageToken: "" }
      }),
    DeleteTaskPushNotificationConfig: (p, ctx) => deletePush(ctx, p.taskId, p.id),
    GetExtendedAgentCard: (_p, ctx) => card(ctx),
    "message/send": (p, ctx) =>
      send(ctx, "0.3", parseV03Message(p.message), agentIdHint(p.metadata, p.message.metadata), {
        returnImmediately: p.configuration?.blocking === false,
        historyLength: p.configuration?.historyLength,
        pushConfig: p.configuration?.pushNotificationConfig,
        metadata: p.metadata
      }),
    "message/stream": (p, ctx) => stream(ctx, "0.3", parseV03Message(p.message), agentIdHint(p.metadata, p.message.metadata), p.metadata),
    "tasks/get": (p, ctx) => Effect.map(findTask(ctx, p.id), (t) => renderTask("0.3", t.task, p.historyLength)),
    "tasks/cancel": (p, ctx) => cancel(ctx, "0.3", p.id),
    "tasks/resubscribe": (p, ctx) => resubscribe(ctx, "0.3", p.id),
    "tasks/pushNotificationConfig/set": (p, ctx) =>
      Effect.map(setPush(ctx, p.taskId, p.pushNotificationConfig), (c) => ({
        taskId: p.taskId,
        pushNotificationConfig: { id: c.id, url: c.url, ...(c.token ? { token: c.token } : {}) }
      })),
    "tasks/pushNotificationConfig/get": (p, ctx) =>
      Effect.map(getPush(ctx, p.id, p.pushNotificationConfigId), (c) => ({
        taskId: p.id,
        pushNotificationConfig: { id: c.id, url: c.url, ...(c.token ? { token: c.token } : {}) }
      })),
    "tasks/pushNotificationConfig/list": (p, ctx) =>
      Effect.gen(function*() {
        const t = yield* findTask(ctx, p.id)
        const configs = yield* tasks.pushConfigs(p.id)
        const reveal = mayReveal(ctx, t)
        return configs.map((c) => ({ taskId: p.id, pushNotificationConfig: { id: c.id, url: c.url, ...(reveal && c.token ? { token: c.token } : {}) } }))
      }),
    "tasks/pushNotificationConfig/delete": (p, ctx) => deletePush(ctx, p.id, p.pushNotificationConfigId),
    "agent/getAuthenticatedExtendedCard": (_p, ctx) => card(ctx),
    execute_task: (p, ctx) =>
      Effect.gen(function*() {
        const agent = yield* resolveAgent(ctx, agentIdHint(p.context))
        yield* requireDeveloper(ctx, agent)
        const stored = yield* tasks.send({
          agent,
          message: {
            messageId: crypto.randomUUID(),
            role: "user",
            parts: [
              { kind: "text", text: p.requirements && p.requirements.length > 0 ? `${p.task}\nRequirements: ${p.requirements.join(", ")}` : p.task },
              ...(p.context ? [{ kind: "data" as const, data: p.context }] : [])
            ],
            ...(p.contextId ? { contextId: p.contextId } : {})
          },
          createdBy: ctx.principal.kind === "user" ? ctx.principal.userId : null
        })
        const message = stored.task.status.message
        return {
          taskId: stored.task.id,
          contextId: stored.task.contextId,
          status: stored.task.status.state,
          result: message ? textOf(message.parts) : null
        }
      }),
    get_capabilities: (_p, ctx) =>
      Option.match(ctx.agent, {
        onNone: () => Effect.succeed({ platform: platformCard(ctx.baseUrl).name, agents: "GET /agents", endpoints: { a2a: "/a2a" } }),
        onSome: (a) => Effect.succeed(capabilitiesOf(a))
      })
  }
  return handlers
})
