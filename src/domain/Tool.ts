import { HttpApiSchema } from "@effect/platform"
import { Context, Effect, Schema } from "effect"

/**
 * Contract between whoever calls tools (agents' tool loop, workflows, A2A)
 * and the Tools service (MCP sessions, registered HTTP tools, built-ins).
 */
export const ToolSpec = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  /** JSON Schema of the arguments object. */
  inputSchema: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  source: Schema.Literal("mcp", "http", "builtin")
})
export type ToolSpec = typeof ToolSpec.Type

/** A tool as listed to callers (REST `/tools`, RPC `tools.list`). */
export const ToolView = Schema.Struct({
  /** What `POST /tools/{id}/execute` takes: the HTTP tool's id, otherwise the tool's name. */
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  inputSchema: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  source: Schema.Literal("mcp", "http", "builtin"),
  projectId: Schema.String,
  serverId: Schema.optional(Schema.String)
})

export const ToolContent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("image"), data: Schema.String, mimeType: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("resource_link"),
    uri: Schema.String,
    name: Schema.optional(Schema.String),
    mimeType: Schema.optional(Schema.String)
  }),
  Schema.Struct({ type: Schema.Literal("resource"), uri: Schema.String, text: Schema.optional(Schema.String), mimeType: Schema.optional(Schema.String) })
)
export type ToolContent = typeof ToolContent.Type

export const ToolResult = Schema.Struct({
  content: Schema.Array(ToolContent),
  structuredContent: Schema.optional(Schema.Unknown),
  isError: Schema.Boolean
})
export type ToolResult = typeof ToolResult.Type

export class ToolNotFound extends Schema.TaggedError<ToolNotFound>()(
  "ToolNotFound",
  { tool: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class ToolInvalidArguments extends Schema.TaggedError<ToolInvalidArguments>()(
  "ToolInvalidArguments",
  {
    tool: Schema.String,
    message: Schema.String,
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
  },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class ToolExecutionFailed extends Schema.TaggedError<ToolExecutionFailed>()(
  "ToolExecutionFailed",
  { tool: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {}

export class ToolTimeout extends Schema.TaggedError<ToolTimeout>()(
  "ToolTimeout",
  { tool: Schema.String, message: Schema.String, timeoutMs: Schema.Number },
  HttpApiSchema.annotations({ status: 504 })
) {}

export type ToolCallError = ToolNotFound | ToolInvalidArguments | ToolExecutionFailed | ToolTimeout

export interface ToolCallOptions {
  /** Overall budget; MCP tools reset it on progress notifications. */
  readonly timeoutMs?: number
}

export class ToolCatalog extends Context.Tag("Tools/ToolCatalog")<
  ToolCatalog,
  {
    /** Tools usable in a project (MCP tools of its servers, its HTTP tools, built-ins). */
    readonly list: (projectId: string) => Effect.Effect<ReadonlyArray<ToolSpec>>
    readonly call: (
      projectId: string,
      name: string,
      args: unknown,
      options?: ToolCallOptions
    ) => Effect.Effect<ToolResult, ToolCallError>
  }
>() {}
