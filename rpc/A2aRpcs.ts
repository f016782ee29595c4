import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"

/**
 * The A2A JSON-RPC surface as one typed RpcGroup: each Rpc tag IS the
 * JSON-RPC `method` (v1.0 names, v0.3 names, and the seed's
 * `execute_task` / `get_capabilities`). Payload schemas are the wire params,
 * so a params mismatch is -32602 before any handler runs. Results are wire
 * JSON rendered by src/a2a/Wire.ts.
 */
export class A2aError extends Schema.TaggedError<A2aError>()("A2aError", {
  code: Schema.Int,
  message: Schema.String,
  data: Schema.optional(Schema.Unknown)
}) {}

/** A2A error codes (spec §5.4 / SDK) and JSON-RPC 2.0 codes. */
export const A2aCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  TaskNotFound: -32001,
  TaskNotCancelable: -32002,
  PushNotificationNotSupported: -32003,
  UnsupportedOperation: -32004,
  ContentTypeNotSupported: -32005,
  InvalidAgentResponse: -32006,
  ExtendedAgentCardNotConfigured: -32007,
  ExtensionSupportRequired: -32008,
  VersionNotSupported: -32009,
  /**
   * The platform's own, from JSON-RPC's range for implementation-defined server errors: the
   * project has too many tasks in progress (AGENT_MAX_ACTIVE_TASKS_PER_PROJECT); `data.retryAfterSeconds`.
   */
  TooManyRequests: -32029
} as const

const reasons: Partial<Record<number, string>> = {
  [-32001]: "TASK_NOT_FOUND",
  [-32002]: "TASK_NOT_CANCELABLE",
  [-32003]: "PUSH_NOTIFICATION_NOT_SUPPORTED",
  [-32004]: "UNSUPPORTED_OPERATION",
  [-32007]: "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
}

/** v1.0 errors carry a google.rpc.ErrorInfo detail, as the reference server does. */
export const a2aError = (code: number, message: string, data?: unknown) =>
  new A2aError({
    code,
    message,
    ...(reasons[code]
      ? { data: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: reasons[code], domain: "a2a-protocol.org" }] }
      : data === undefined
      ? {}
      : { data })
  })


/** historyLength: how many recent messages to include; a negative count is invalid params (-32602). */
const HistoryLength = Schema.optional(Schema.Int.pipe(Schema.nonNegative({ message: () => "historyLength must not be negative" })))
const Metadata = Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const Tenant = Schema.optional(Schema.String)

// ---- v1.0 wire (proto-JSON) ----
export const V1Part = Schema.Struct({
  text: Schema.optional(Schema.String),
  data: Schema.optional(Schema.Unknown),
  url: Schema.optional(Schema.String),
  raw: Schema.optional(Schema.String),
  mediaType: Schema.optional(Schema.String),
  filename: Schema.optional(Schema.String),
  metadata: Metadata
})
export const V1Message = Schema.Struct({
  messageId: Schema.String,
  role: Schema.Literal("ROLE_USER", "ROLE_AGENT"),
  parts: Schema.Array(V1Part).pipe(Schema.minItems(1)),
  contextId: Schema.optional(Schema.String),
  taskId: Schema.optional(Schema.String),
  metadata: Metadata,
  extensions: Schema.optional(Schema.Array(Schema.String)),
  referenceTaskIds: Schema.optional(Schema.Array(Schema.String))
})
export const V1PushConfig = Schema.Struct({
  id: Schema.optional(Schema.String),
  taskId: Schema.optional(Schema.String),
  url: Schema.String,
  token: Schema.optional(Schema.String),
  authentication: Schema.optional(Schema.Unknown),
  tenant: Tenant
})
export const V1SendParams = Schema.Struct({
  message: V1Message,
  configuration: Schema.optional(Schema.Struct({
    acceptedOutputModes: Schema.optional(Schema.Array(Schema.String)),
    historyLength: HistoryLength,
    returnImmediately: Schema.optional(Schema.Boolean),
    taskPushNotificationConfig: Schema.optional(V1PushConfig)
  })),
  metadata: Metadata,
  tenant: Tenant
})
const TaskIdParams = Schema.Struct({ id: Schema.String, historyLength: HistoryLength, metadata: Metadata, tenant: Tenant })
const PushRef = Schema.Struct({ taskId: Schema.String, id: Schema.String, tenant: Tenant })

// ---- v0.3 wire (kind-tagged) ----
export const V03Part = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("text"), text: Schema.String, metadata: Metadata }),
  Schema.Struct({ kind: Schema.Literal("data"), data: Schema.Unknown, metadata: Metadata }),
  Schema.Struct({
    kind: Schema.Literal("file"),
    file: Schema.Struct({
      uri: Schema.optional(Schema.String),
      bytes: Schema.optional(Schema.String),
      mimeType: Schema.optional(Schema.String),
      name: Schema.optional(Schema.String)
    }),
    metadata: Metadata
  })
)
export const V03Message = Schema.Struct({
  kind: Schema.optional(Schema.Literal("message")),
  messageId: Schema.String,
  role: Schema.Literal("user", "agent"),
  parts: Schema.Array(V03Part).pipe(Schema.minItems(1)),
  contextId: Schema.optional(Schema.String),
  taskId: Schema.optional(Schema.String),
  metadata: Metadata,
  extensions: Schema.optional(Schema.Array(Schema.String)),
  referenceTaskIds: Schema.optional(Schema.Array(Schema.String))
})
const V03PushConfig = Schema.Struct({
  id: Schema.optional(Schema.String),
  url: Schema.String,
  token: Schema.optional(Schema.String),
  authentication: Schema.optional(Schema.Unknown)
})
export const V03SendParams = Schema.Struct({
  message: V03Message,
  configuration: Schema.optional(Schema.Struct({
    acceptedOutputModes: Schema.optional(Schema.Array(Schema.String)),
    historyLength: HistoryLength,
    blocking: Schema.optional(Schema.Boolean),
    pushNotificationConfig: Schema.optional(V03PushConfig)
  })),
  metadata: Metadata
})

const Wire = Schema.Unknown
const unary = <const Tag extends string, P extends Schema.Struct.Fields | Schema.Schema.Any>(tag: Tag, payload: P) =>
  Rpc.make(tag, { payload, success: Wire, error: A2aError })
const streaming = <const Tag extends string, P extends Schema.Struct.Fields | Schema.Schema.Any>(tag: Tag, payload: P) =>
  Rpc.make(tag, { payload, success: Wire, error: A2aError, stream: true })

export class A2aRpcs extends RpcGroup.make(
  // v1.0
  unary("SendMessage", V1SendParams),
  streaming("SendStreamingMessage", V1SendParams),
  unary("GetTask", TaskIdParams),
  unary("ListTasks", {
    contextId: Schema.optional(Schema.String),
    status: Schema.optional(Schema.String),
    pageSize: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
    pageToken: Schema.optional(Schema.String),
    historyLength: HistoryLength,
    /** ISO 8601; only tasks whose status changed at or after it. */
    statusTimestampAfter: Schema.optional(Schema.String),
    includeArtifacts: Schema.optional(Schema.Boolean),
    tenant: Tenant
  }),
  unary("CancelTask", TaskIdParams),
  streaming("SubscribeToTask", TaskIdParams),
  unary("CreateTaskPushNotificationConfig", V1PushConfig),
  unary("GetTaskPushNotificationConfig", PushRef),
  unary("ListTaskPushNotificationConfigs", {
    taskId: Schema.String,
    pageSize: Schema.optional(Schema.Int),
    pageToken: Schema.optional(Schema.String),
    tenant: Tenant
  }),
  unary("DeleteTaskPushNotificationConfig", PushRef),
  unary("GetExtendedAgentCard", { tenant: Tenant }),
  // v0.3
  unary("message/send", V03SendParams),
  streaming("message/stream", V03SendParams),
  unary("tasks/get", TaskIdParams),
  unary("tasks/cancel", TaskIdParams),
  streaming("tasks/resubscribe", TaskIdParams),
  unary("tasks/pushNotificationConfig/set", {
    taskId: Schema.String,
    pushNotificationConfig: V03PushConfig
  }),
  unary("tasks/pushNotificationConfig/get", {
    id: Schema.String,
    pushNotificationConfigId: Schema.optional(Schema.String)
  }),
  unary("tasks/pushNotificationConfig/list", { id: Schema.String }),
  unary("tasks/pushNotificationConfig/delete", { id: Schema.String, pushNotificationConfigId: Schema.String }),
  unary("agent/getAuthenticatedExtendedCard", {}),
  // The seed's methods
  unary("execute_task", {
    task: Schema.String.pipe(Schema.minLength(1)),
    context: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    requirements: Schema.optional(Schema.Array(Schema.String)),
    contextId: Schema.optional(Schema.String)
  }),
  unary("get_capabilities", {})
) {}

export type A2aMethod = A2aRpcs extends RpcGroup.RpcGroup<infer R> ? R["_tag"] : never
