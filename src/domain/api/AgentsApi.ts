import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, GatewayTimeout, NotFound, TooManyRequests } from "../../kernel/WireErrors.ts"
import { Agent, AgentPageParams, AgentRun, AgentTemplate, CreateAgent, ExecuteResult, UpdateAgent } from "../Agent.ts"
import { A2aMessage, Artifact, TaskState, TaskStatus } from "../Task.ts"

export { ExecuteResult }

const AgentPath = Schema.Struct({ id: Schema.String })
const AgentTaskPath = Schema.Struct({ id: Schema.String, taskId: Schema.String })

/** One task of an agent as stored: what an asynchronous run (`wait: false`) is read back with. */
export const AgentTaskView = Schema.Struct({
  id: Schema.String,
  agentId: Schema.String,
  contextId: Schema.String,
  state: TaskState,
  /** The agent's final (or latest) message as text; null while it has said nothing. */
  output: Schema.NullOr(Schema.String),
  status: TaskStatus,
  artifacts: Schema.Array(Artifact),
  /** The conversation of the task: the user's messages and the agent's replies. */
  history: Schema.Array(A2aMessage)
}).annotations({ identifier: "AgentTask" })

export const ExecuteRequest = Schema.Struct({
  /** The task, in words (the seed's `task`); `input` is accepted as an alias. */
  task: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200_000))),
  input: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200_000))),
  context: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** Continue a conversation: tasks of one context share their transcript. */
  contextId: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
  /** Continue this task (A2A's message.taskId): an unknown task is 404; one that does not wait for input is 409. */
  taskId: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
  /** false: answer 202 with the submitted task at once. */
  wait: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

export const Capabilities = Schema.Struct({
  agentId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  capabilities: Schema.Array(Schema.Struct({
    name: Schema.String,
    description: Schema.String,
    input_schema: Schema.Unknown,
    output_schema: Schema.Unknown
  })),
  skills: Schema.Array(Schema.Unknown),
  tools: Schema.Array(Schema.String),
  endpoints: Schema.Record({ key: Schema.String, value: Schema.String }),
  health_url: Schema.String
})

/**
 * Agents of a project: CRUD, templates, synchronous execution and the seed's
 * capabilities view. Other projects' agents answer 404.
 */
export class AgentsApi extends HttpApiGroup.make("agents")
  .add(
    HttpApiEndpoint.get("list", "/agents")
      .setUrlParams(AgentPageParams)
      .addSuccess(Schema.Array(Agent))
  )
  .add(HttpApiEndpoint.get("templates", "/agents/templates").addSuccess(Schema.Array(AgentTemplate)))
  .add(
    HttpApiEndpoint.post("create", "/agents")
      .setPayload(CreateAgent)
      .addSuccess(Agent, { status: 201 })
      .addError(Conflict)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.get("bySlug", "/agents/by-slug/:projectId/:slug")
      .setPath(Schema.Struct({ projectId: Schema.String, slug: Schema.String }))
      .addSuccess(Agent)
      .addError(NotFound)
  )
  .add(HttpApiEndpoint.get("get", "/agents/:id").setPath(AgentPath).addSuccess(Agent).addError(NotFound))
  .add(
    HttpApiEndpoint.put("update", "/agents/:id")
      .setPath(AgentPath)
      .setPayload(UpdateAgent)
      .addSuccess(Agent)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.del("remove", "/agents/:id")
      .setPath(AgentPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("execute", "/agents/:id/execute")
      .setPath(AgentPath)
      .setPayload(ExecuteRequest)
      .addSuccess(ExecuteResult)
      .addSuccess(ExecuteResult.annotations({ identifier: "ExecuteAccepted" }), { status: 202 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(BadRequest)
      .addError(Conflict)
      .addError(GatewayTimeout)
      .addError(TooManyRequests)
  )
  .add(HttpApiEndpoint.get("capabilities", "/agents/:id/capabilities").setPath(AgentPath).addSuccess(Capabilities).addError(NotFound))
  .add(
    HttpApiEndpoint.get("task", "/agents/:id/tasks/:taskId")
      .setPath(AgentTaskPath)
      .addSuccess(AgentTaskView)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.get("runs", "/agents/:id/runs")
      .setPath(AgentPath)
      .addSuccess(Schema.Array(AgentRun))
      .addError(NotFound)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "AI agents: each runs as a sharded Agent entity; tasks, usage and cost are recorded")
{}
