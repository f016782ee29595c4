import { Schema } from "effect"

/**
 * `sampling/createMessage` from the server answered with this model (the project's, through the
 * platform's LanguageModel) with at most `maxTokens` (the smaller of this and the server's ask).
 * Any transport (HTTP, a catalog instance, an operator's stdio line). Absent: sampling is not
 * declared and a server's request is refused.
 */
export const McpSamplingSettings = Schema.Struct({
  provider: Schema.Literal("openai", "anthropic", "google", "local"),
  model: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  maxTokens: Schema.Int.pipe(Schema.between(1, 4096))
})
export type McpSamplingSettings = typeof McpSamplingSettings.Type

/** How the platform reaches an MCP server. Secrets (env, headers) never leave the Tools service. */
export const McpStdioTransport = Schema.Struct({
  type: Schema.Literal("stdio"),
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  cwd: Schema.optional(Schema.String),
  sampling: Schema.optional(McpSamplingSettings)
})

/**
 * OAuth 2.1 for a remote MCP server (MCP authorization spec): `authorization_code` (the default:
 * a project admin authorizes once through `POST /tools/mcp/servers/{id}/oauth/authorize`; the
 * client is registered dynamically unless `clientId` is given) or `client_credentials` (a
 * pre-registered `clientId` + `clientSecret`). The secret is sealed with the tokens at
 * registration and never stored in the transport config nor shown back.
 */
export const McpOAuthSettings = Schema.Struct({
  grant: Schema.optionalWith(Schema.Literal("authorization_code", "client_credentials"), { default: () => "authorization_code" as const }),
  clientId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500))),
  clientSecret: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2000))),
  scope: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
}).pipe(Schema.filter((s) => s.grant !== "client_credentials" || s.clientId !== undefined, {
  message: () => "client_credentials needs a clientId"
}))
export type McpOAuthSettings = typeof McpOAuthSettings.Type

export const McpHttpTransport = Schema.Struct({
  type: Schema.Literal("http"),
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\//, { message: () => "url must be http(s)" })),
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  oauth: Schema.optional(McpOAuthSettings),
  sampling: Schema.optional(McpSamplingSettings)
})

export const McpTransportConfig = Schema.Union(McpStdioTransport, McpHttpTransport)
export type McpTransportConfig = typeof McpTransportConfig.Type

const CatalogId = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9-]{0,63}$/, {
    message: () => "catalog id must be 1-64 characters: lowercase letters, digits or '-', starting with a letter"
  })
)
const ParamName = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_]{0,31}$/, {
    message: () => "parameter name must be 1-32 characters: lowercase letters, digits or '_', starting with a letter"
  })
)

/**
 * A value a project may fill into a catalog entry: `{{name}}` in the entry's
 * args or env values. Values are whole strings handed to the process (no
 * shell), never start with '-' (no extra flags) and must match `pattern`.
 */
export const McpCatalogParam = Schema.Struct({
  name: ParamName,
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(500)), { default: () => "" }),
  /** A regular expression the whole value must match (anchored). */
  pattern: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  required: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export type McpCatalogParam = typeof McpCatalogParam.Type

/** A stdio MCP server definition published by a platform operator: the only command lines ever spawned. */
export const McpCatalogEntry = Schema.Struct({
  id: CatalogId,
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(2000)), { default: () => "" }),
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  cwd: Schema.optional(Schema.String),
  params: Schema.optionalWith(Schema.Array(McpCatalogParam), { default: () => [] })
})
export type McpCatalogEntry = typeof McpCatalogEntry.Type

/** How a project asks for a stdio server: a catalog entry by id, with values for its declared parameters. */
export const McpCatalogTransport = Schema.Struct({
  type: Schema.Literal("catalog"),
  entry: CatalogId,
  params: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Schema.String.pipe(Schema.maxLength(1024)) }),
    { default: () => ({}) }
  ),
  /** The project's model answers the server's sampling requests (the project pays for them). */
  sampling: Schema.optional(McpSamplingSettings)
})
export type McpCatalogTransport = typeof McpCatalogTransport.Type

/**
 * What a registration carries: a catalog instance or a Streamable HTTP URL;
 * a raw stdio command line only from a platform operator.
 */
export const McpRegisteredTransport = Schema.Union(McpCatalogTransport, McpHttpTransport, McpStdioTransport)
export type McpRegisteredTransport = typeof McpRegisteredTransport.Type

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
