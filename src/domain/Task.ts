import { Data, Schema } from "effect"

/**
 * The protocol-neutral A2A model the platform stores (JSONB) and reasons
 * about. `Wire.ts` renders it as A2A v1.0 (proto-JSON: `ROLE_USER`,
 * `TASK_STATE_COMPLETED`, `{ text }` parts) or v0.3 (`kind`-tagged).
 */
/** Every task state, once: the schema, the terminal set and the wire renderings (src/a2a/Wire.ts) derive from it. */
export const TASK_STATES = [
  "submitted",
  "working",
  "input-required",
  "completed",
  "canceled",
  "failed",
  "rejected",
  "auth-required"
] as const
export const TaskState = Schema.Literal(...TASK_STATES)
export type TaskState = typeof TaskState.Type
export const isTaskState: (u: unknown) => u is TaskState = Schema.is(TaskState)

export const TERMINAL_STATES = ["completed", "canceled", "failed", "rejected"] as const satisfies ReadonlyArray<TaskState>
const terminal: ReadonlySet<TaskState> = new Set(TERMINAL_STATES)
export const isTerminal = (state: TaskState) => terminal.has(state)

const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const Part = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("text"), text: Schema.String, metadata: Schema.optional(Metadata) }),
  Schema.Struct({ kind: Schema.Literal("data"), data: Schema.Unknown, metadata: Schema.optional(Metadata) }),
  Schema.Struct({
    kind: Schema.Literal("file"),
    url: Schema.optional(Schema.String),
    /** base64 */
    bytes: Schema.optional(Schema.String),
    mediaType: Schema.optional(Schema.String),
    filename: Schema.optional(Schema.String),
    metadata: Schema.optional(Metadata)
  })
)
export type Part = typeof Part.Type

export const A2aMessage = Schema.Struct({
  messageId: Schema.String,
  role: Schema.Literal("user", "agent"),
  parts: Schema.Array(Part),
  contextId: Schema.optional(Schema.String),
  taskId: Schema.optional(Schema.String),
  metadata: Schema.optional(Metadata),
  referenceTaskIds: Schema.optional(Schema.Array(Schema.String))
})
export type A2aMessage = typeof A2aMessage.Type

export const TaskStatus = Schema.Struct({
  state: TaskState,
  message: Schema.optional(A2aMessage),
  timestamp: Schema.String
})
export type TaskStatus = typeof TaskStatus.Type

export const Artifact = Schema.Struct({
  artifactId: Schema.String,
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  parts: Schema.Array(Part),
  metadata: Schema.optional(Metadata)
})
export type Artifact = typeof Artifact.Type

export const A2aTask = Schema.Struct({
  id: Schema.String,
  contextId: Schema.String,
  status: TaskStatus,
  artifacts: Schema.Array(Artifact),
  history: Schema.Array(A2aMessage),
  metadata: Schema.optional(Metadata)
})
export type A2aTask = typeof A2aTask.Type

const ProgressKeys = { taskId: Schema.String, contextId: Schema.String }

/**
 * Progress of a task, from the run to every listener (A2A SSE, WebSocket
 * chat, blocking sends): the runner publishes it on the EventBus, readers
 * decode it with this schema, and each edge renders it in its own words
 * (A2A's `kind`-tagged or oneof events, chat frames). `Snapshot` is never
 * published: it is the task as stored, which a stream starts with.
 */
export const TaskProgress = Schema.Union(
  Schema.TaggedStruct("Snapshot", { task: A2aTask }),
  Schema.TaggedStruct("Status", { ...ProgressKeys, status: TaskStatus, final: Schema.Boolean }),
  Schema.TaggedStruct("Delta", { ...ProgressKeys, text: Schema.String, step: Schema.Int }),
  Schema.TaggedStruct("Tool", {
    ...ProgressKeys,
    phase: Schema.Literal("started", "finished"),
    name: Schema.String,
    callId: Schema.String,
    isError: Schema.optional(Schema.Boolean)
  }),
  Schema.TaggedStruct("Artifact", { ...ProgressKeys, artifact: Artifact })
)
export type TaskProgress = typeof TaskProgress.Type
/** What the runner publishes: every progress event but the snapshot. */
export type PublishedProgress = Exclude<TaskProgress, { readonly _tag: "Snapshot" }>

/** The task does not exist, or not for this caller (the two are not told apart). */
export class TaskNotFound extends Data.TaggedError("TaskNotFound")<{ readonly taskId: string }> {
  override get message() {
    return `Task not found: ${this.taskId}`
  }
}

/** Cancel of a task that has already ended. */
export class TaskNotCancelable extends Data.TaggedError("TaskNotCancelable")<{
  readonly taskId: string
  readonly state: TaskState
}> {
  override get message() {
    return `Task not cancelable: ${this.taskId} is ${this.state}`
  }
}

/** A message for an existing task: no task waits for input here, so a context continues with a new task. */
export class TaskNotContinuable extends Data.TaggedError("TaskNotContinuable")<{
  readonly taskId: string
  readonly state: TaskState
}> {
  override get message() {
    return `Task ${this.taskId} is ${this.state}; send a new message without taskId to continue the context`
  }
}

/** Subscribing to a task that has already ended: there is no stream left to join. */
export class TaskNotSubscribable extends Data.TaggedError("TaskNotSubscribable")<{
  readonly taskId: string
  readonly state: TaskState
}> {
  override get message() {
    return `Task ${this.taskId} is ${this.state}; there is nothing to subscribe to`
  }
}

/**
 * The agent a message was for is gone: deleted after the caller's request named it (between
 * the gateway's check and the task's creation, or while another node still had it cached).
 */
export class AgentNotFound extends Data.TaggedError("AgentNotFound")<{ readonly agentId: string }> {
  override get message() {
    return `Agent not found: ${this.agentId}`
  }
}

export type TaskError = TaskNotFound | TaskNotCancelable | TaskNotContinuable | TaskNotSubscribable | AgentNotFound

export const textOf = (parts: ReadonlyArray<Part>) =>
  parts.map((p) => (p.kind === "text" ? p.text : p.kind === "data" ? JSON.stringify(p.data) : `[file ${p.filename ?? p.url ?? ""}]`))
    .join("\n")

export const agentText = (text: string, taskId: string, contextId: string): A2aMessage => ({
  messageId: crypto.randomUUID(),
  role: "agent",
  parts: [{ kind: "text", text }],
  taskId,
  contextId
})
