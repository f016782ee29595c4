import { Schema } from "effect"
import { ProviderName } from "./Provider.ts"

/** An A2A skill the agent advertises on its card. */
export const AgentSkill = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  description: Schema.String.pipe(Schema.maxLength(2000)),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  examples: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
export type AgentSkill = typeof AgentSkill.Type

export const AgentSettings = Schema.Struct({
  temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2))),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.between(1, 200_000))),
  maxSteps: Schema.optional(Schema.Int.pipe(Schema.between(1, 50)))
})

export class Agent extends Schema.Class<Agent>("Agent")({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  /** Unique in the project, from the name at creation (kept on rename): `GET /agents/by-slug/{projectId}/{slug}`. */
  slug: Schema.String,
  description: Schema.String,
  provider: ProviderName,
  model: Schema.String,
  systemPrompt: Schema.String,
  /** Names of tools (ToolCatalog) the agent may call. */
  tools: Schema.Array(Schema.String),
  skills: Schema.Array(AgentSkill),
  config: AgentSettings,
  createdAt: Schema.String,
  updatedAt: Schema.String
}) {}

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Model = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Prompt = Schema.String.pipe(Schema.maxLength(100_000))
const Tools = Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))).pipe(Schema.maxItems(128))
const Skills = Schema.Array(AgentSkill).pipe(Schema.maxItems(64))

/** The fields a caller may set on an agent: every one optional (an update changes only those given). */
export const UpdateAgent = Schema.Struct({
  name: Schema.optional(Name),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  provider: Schema.optional(ProviderName),
  model: Schema.optional(Model),
  systemPrompt: Schema.optional(Prompt),
  tools: Schema.optional(Tools),
  skills: Schema.optional(Skills),
  config: Schema.optional(AgentSettings)
})

export const CreateAgent = Schema.Struct({
  projectId: Schema.String,
  /** Start from a template; explicit fields override it. */
  templateId: Schema.optional(Schema.String),
  ...UpdateAgent.fields
})
export type CreateAgent = typeof CreateAgent.Type

export type UpdateAgent = typeof UpdateAgent.Type

export const AgentTemplate = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  provider: ProviderName,
  model: Schema.String,
  systemPrompt: Schema.String,
  tools: Schema.Array(Schema.String),
  skills: Schema.Array(AgentSkill)
})
export type AgentTemplate = typeof AgentTemplate.Type

/** One execution of an agent on a task: tokens and cost as recorded in agent_runs. */
export const AgentRun = Schema.Struct({
  id: Schema.String,
  taskId: Schema.String,
  agentId: Schema.String,
  requestedProvider: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  status: Schema.String,
  steps: Schema.Int,
  inputTokens: Schema.Int,
  outputTokens: Schema.Int,
  costUsd: Schema.Number,
  error: Schema.NullOr(Schema.String),
  startedAt: Schema.String,
  durationMs: Schema.Number
})
export type AgentRun = typeof AgentRun.Type

/** What an execution answers (REST `/agents/{id}/execute`, RPC `agents.execute`): the reply text once the task ended. */
export const ExecuteResult = Schema.Struct({
  taskId: Schema.String,
  contextId: Schema.String,
  state: Schema.String,
  output: Schema.NullOr(Schema.String),
  usage: Schema.NullOr(Schema.Struct({ inputTokens: Schema.Int, outputTokens: Schema.Int, costUsd: Schema.Number, steps: Schema.Int, provider: Schema.String }))
})

/**
 * One page of `GET /agents` / `agents.list`: at most `limit` agents (default
 * {@link AGENT_PAGE_DEFAULT}) in creation order, after the agent `after` (the
 * last id of the previous page). A list is never unbounded: a project can hold
 * any number of agents, a response cannot.
 */
export const AGENT_PAGE_DEFAULT = 100
export const AGENT_PAGE_MAX = 500
export const AgentPage = Schema.Struct({
  projectId: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, AGENT_PAGE_MAX))),
  after: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)))
})
export type AgentPage = typeof AgentPage.Type
/** The same page as URL parameters (numbers arrive as text). */
export const AgentPageParams = Schema.Struct({
  ...AgentPage.fields,
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, AGENT_PAGE_MAX)))
})
