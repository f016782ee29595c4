import { Config, Effect, Option, Stream } from "effect"
import { A2aCodes, a2aError } from "../../rpc/A2aRpcs.ts"
import { hasRole } from "../auth/ProjectAccess.ts"
import { AgentLookup } from "../agents/AgentLookup.ts"
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
  const lookup = yield* AgentLookup
  const tasks = yield* AgentTasks
  const push = yield* PushNotifier
  /**
   * The deployment's default agent: what the platform endpoint (/a2a, named by
   * the card at the host root) talks to when a message names no agent, so
   * clients that only read the root card (the A2A TCK does) reach a real agent.
   */
  const defaultAgentId = Option.getOrUndefined(yield* Config.option(Config.nonEmptyString("A2A_DEFAULT_AGENT_ID")).pipe(Effect.orDie))

  const visible = (ctx: CallContext) => [...ctx.principal.projects.keys()]

  const resolveAgent = (ctx: CallContext, hint: string | undefined) =>
    Effect.gen(function*() {
      if (Option.isSome(ctx.agent)) return ctx.agent.value
      hint ??= defaultAgentId
      if (hint === undefined) {
        return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: the platform endpoint needs metadata.agentId (or use /agents/{id}/a2a, or set A2A_DEFAULT_AGENT_ID)"))
      }
      const agent = yield* lookup.find(hint, visible(ctx))
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
        yield* push.register(submitted, o.pushConfig, v)
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

  const card = (ctx: CallContext, v: Version) =>
    Effect.succeed(Option.match(ctx.agent, { onNone: () => platformCard(ctx.baseUrl, v), onSome: (a) => agentCard(a, ctx.baseUrl, v) }))

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

  const setPush = (
    ctx: CallContext,
    v: Version,
    taskId: string,
    config: { id?: string | undefined; url: string; token?: string | undefined; authentication?: unknown }
  ) =>
    Effect.gen(function*() {
      const t = yield* findTask(ctx, taskId)
      yield* requireDeveloper(ctx, yield* agentOfTask(ctx, t))
      yield* push.check(config.url)
      const id = yield* push.register(t, config, v)
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
        // Page tokens are the ones this endpoint hands out (an offset): anything else is invalid params.
        if (p.pageToken !== undefined && p.pageToken !== "" && !/^\d{1,9}$/.test(p.pageToken)) {
          return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: pageToken is not one this server issued"))
        }
        const offset = p.pageToken ? Number(p.pageToken) : 0
        const anyState = p.status === undefined || p.status === "" || p.status === "TASK_STATE_UNSPECIFIED"
        const state = anyState ? undefined : parseStateFilter(p.status!)
        if (!anyState && state === undefined) {
          return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, `Invalid params: status ${p.status} is not a task state`))
        }
        const since = p.statusTimestampAfter === undefined || p.statusTimestampAfter === "" ? undefined : new Date(p.statusTimestampAfter)
        if (since !== undefined && (Number.isNaN(since.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(p.statusTimestampAfter!))) {
          return yield* Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: statusTimestampAfter must be an ISO 8601 timestamp"))
        }
        const agentId = Option.getOrUndefined(Option.map(ctx.agent, (a) => a.id))
        const page = yield* tasks.list({ agentId, projectIds: visible(ctx), contextId: p.contextId, state, updatedSince: since, limit: pageSize, offset })
        return {
          tasks: page.tasks.map((t) => {
            const rendered = renderTask("1.0", t.task, p.historyLength ?? 0)
            return p.includeArtifacts ? rendered : { ...rendered, artifacts: undefined }
          }),
          nextPageToken: offset + page.tasks.length < page.total ? String(offset + page.tasks.length) : "",
          // The page size applied (spec: "the page size used for this response"), as the JS SDK answers.
          pageSize,
          totalSize: page.total
        }
      }),
    CancelTask: (p, ctx) => cancel(ctx, "1.0", p.id),
    SubscribeToTask: (p, ctx) => resubscribe(ctx, "1.0", p.id),
    CreateTaskPushNotificationConfig: (p, ctx) =>
      p.taskId === undefined
        ? Effect.fail(a2aError(A2aCodes.InvalidParams, "Invalid params: taskId is required"))
        : setPush(ctx, "1.0", p.taskId, p),
    GetTaskPushNotificationConfig: (p, ctx) => getPush(ctx, p.taskId, p.id),
    ListTaskPushNotificationConfigs: (p, ctx) =>
      Effect.gen(function*() {
        const t = yield* findTask(ctx, p.taskId)
        const configs = yield* tasks.pushConfigs(p.taskId)
        return { configs: configs.map((c) => pushView(p.taskId, c, mayReveal(ctx, t))), nextPageToken: "" }
      }),
    DeleteTaskPushNotificationConfig: (p, ctx) => deletePush(ctx, p.taskId, p.id),
    GetExtendedAgentCard: (_p, ctx) => card(ctx, "1.0"),
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
      Effect.map(setPush(ctx, "0.3", p.taskId, p.pushNotificationConfig), (c) => ({
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
    "agent/getAuthenticatedExtendedCard": (_p, ctx) => card(ctx, "0.3"),
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
