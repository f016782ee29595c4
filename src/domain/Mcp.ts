import { Schema } from "effect"

/** How the platform reaches an MCP server. Secrets (env, headers) never leave the Tools service. */
export const McpStdioTransport = Schema.Struct({
  type: Schema.Literal("stdio"),
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  cwd: Schema.optional(Schema.String)
})

export const McpHttpTransport = Schema.Struct({
  type: Schema.Literal("http"),
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\//, { message: () => "url must be http(s)" })),
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
})

export const McpTransportConfig = Schema.Union(McpStdioTransport, McpHttpTransport)
export type McpTransportConfig = typeof McpTransportConfig.Type

export const McpToolInfo = Schema.Struct({
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.String,
  inputSchema: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})
export type McpToolInfo = typeof McpToolInfo.Type

export const McpResourceInfo = Schema.Struct({
  uri: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String)
})
export type McpResourceInfo = typeof McpResourceInfo.Type

export const McpPromptInfo = Schema.Struct({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  arguments: Schema.Array(Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    required: Schema.optional(Schema.Boolean)
  }))
})
export type McpPromptInfo = typeof McpPromptInfo.Type

export const McpSessionStatus = Schema.Struct({
  serverId: Schema.String,
  connected: Schema.Boolean,
  /** The spawned process (stdio servers). */
  pid: Schema.NullOr(Schema.Number),
  /** Successful connections made by this entity instance (1 + reconnects). */
  connects: Schema.Int,
  inFlight: Schema.Int,
  serverInfo: Schema.NullOr(Schema.Struct({ name: Schema.String, version: Schema.String })),
  lastError: Schema.NullOr(Schema.String)
})
export type McpSessionStatus = typeof McpSessionStatus.Type

export const McpCallTool = Schema.Struct({
  /** The tool's name on the MCP server (not the platform's prefixed name). */
  name: Schema.String,
  arguments: Schema.Unknown,
  /** Inactivity budget: progress notifications from the server restart it. */
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 3_600_000)))
})
