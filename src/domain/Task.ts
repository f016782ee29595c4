import { Schema } from "effect"

/**
 * The protocol-neutral A2A model the platform stores (JSONB) and reasons
 * about. `Wire.ts` renders it as A2A v1.0 (proto-JSON: `ROLE_USER`,
 * `TASK_STATE_COMPLETED`, `{ text }` parts) or v0.3 (`kind`-tagged).
 */
export const TaskState = Schema.Literal(
  "submitted",
  "working",
  "input-required",
  "completed",
  "canceled",
  "failed",
  "rejected",
  "auth-required"
)
export type TaskState = typeof TaskState.Type

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(["completed", "canceled", "failed", "rejected"])
export const isTerminal = (state: TaskState) => TERMINAL_STATES.has(state)

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

/** What a task's stream carries, protocol-neutral. */
export type TaskEvent =
  | { readonly kind: "task"; readonly task: A2aTask }
  | { readonly kind: "message"; readonly message: A2aMessage }
  | { readonly kind: "status-update"; readonly taskId: string; readonly contextId: string; readonly status: TaskStatus; readonly final: boolean }
  | {
    readonly kind: "artifact-update"
    readonly taskId: string
    readonly contextId: string
    readonly artifact: Artifact
    readonly append: boolean
    readonly lastChunk: boolean
  }

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
