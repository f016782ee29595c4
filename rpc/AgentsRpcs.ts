import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { Agent, AgentPage, CreateAgent, ExecuteResult, UpdateAgent } from "../src/domain/Agent.ts"
import { A2aTask, TaskProgress, TaskState } from "../src/domain/Task.ts"
import { BadRequest, Conflict, Forbidden, GatewayTimeout, NotFound, TooManyRequests } from "../src/kernel/WireErrors.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
const Text = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200_000))

/** A user message to an agent; `contextId` continues a conversation (tasks of one context share their transcript). */
export const SendMessage = Schema.Struct({
  agentId: Id,
  text: Text,
  /** Structured context sent as a data part next to the text. */
  data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  contextId: Schema.optional(Id)
})

/**
 * Agents of the caller's projects (the same operations and checks as REST
 * `/agents`): another project's agent is NotFound, writes need the developer role.
 */
export class AgentsRpcs extends RpcGroup.make(
  Rpc.make("list", { payload: AgentPage, success: Schema.Array(Agent) }),
  Rpc.make("get", { payload: { id: Id }, success: Agent, error: NotFound }),
  Rpc.make("create", {
    payload: CreateAgent,
    success: Agent,
    error: Schema.Union(NotFound, Forbidden, BadRequest, Conflict)
  }),
  Rpc.make("update", {
    payload: { id: Id, ...UpdateAgent.fields },
    success: Agent,
    error: Schema.Union(NotFound, Forbidden)
  }),
  Rpc.make("delete", { payload: { id: Id }, error: Schema.Union(NotFound, Forbidden) }),
  /** Sends a message; `wait: false` answers at once with the submitted task (read it with `tasks.get`). */
  Rpc.make("execute", {
    payload: Schema.Struct({ ...SendMessage.fields, wait: Schema.optionalWith(Schema.Boolean, { default: () => true }) }),
    success: ExecuteResult,
    error: Schema.Union(NotFound, Forbidden, BadRequest, Conflict, GatewayTimeout, TooManyRequests)
  })
).prefix("agents.").middleware(RpcAuthentication) {}

/** A stored task with the agent and project it belongs to. */
export const TaskView = Schema.Struct({ agentId: Schema.String, projectId: Schema.String, task: A2aTask })

/**
 * A2A tasks as typed RPC, on the same task service as `/a2a`: read, list,
 * cancel, and a task's progress as a stream (the stored snapshot first, then
 * status, text deltas, tool calls and artifacts up to the final status).
 */
export class TasksRpcs extends RpcGroup.make(
  Rpc.make("get", { payload: { taskId: Id }, success: TaskView, error: NotFound }),
  Rpc.make("list", {
    payload: Schema.Struct({
      agentId: Schema.optional(Id),
      projectId: Schema.optional(Id),
      contextId: Schema.optional(Id),
      state: Schema.optional(TaskState),
      limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 200)), { default: () => 50 }),
      offset: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 })
    }),
    success: Schema.Struct({ tasks: Schema.Array(TaskView), total: Schema.Int }),
    error: NotFound
  }),
  Rpc.make("cancel", { payload: { taskId: Id }, success: TaskView, error: Schema.Union(NotFound, Forbidden, Conflict) }),
  /** Sends a message and streams the new task's progress until it ends. */
  Rpc.make("stream", {
    payload: SendMessage,
    success: TaskProgress,
    error: Schema.Union(NotFound, Forbidden, Conflict, TooManyRequests),
    stream: true
  }),
  /** Joins a running task's progress; a task that has ended is Conflict (read it with `get`). */
  Rpc.make("subscribe", {
    payload: { taskId: Id },
    success: TaskProgress,
    error: Schema.Union(NotFound, Conflict),
    stream: true
  })
).prefix("tasks.").middleware(RpcAuthentication) {}
