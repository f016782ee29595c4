import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  McpCatalogEntry,
  McpCatalogParam,
  McpPromptInfo,
  McpRegisteredTransport,
  McpResourceInfo,
  McpSessionStatus,
  McpToolInfo
} from "../Mcp.ts"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, NotFound } from "../../kernel/WireErrors.ts"
import {
  ToolExecutionFailed,
  ToolInvalidArguments,
  ToolNotFound,
  ToolResult,
  ToolTimeout,
  ToolView
} from "../Tool.ts"

export { ToolView }

/** Names that are safe as LLM function names and never contain the MCP separator `__`. */
const ToolName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, {
    message: () => "name must be 1-64 characters: letters, digits, '_' or '-', starting with a letter"
  }),
  Schema.filter((s) => !s.includes("__"), { message: () => "name must not contain '__'" })
)
const ServerName = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9-]{0,31}$/, {
    message: () => "name must be 1-32 characters: lowercase letters, digits or '-', starting with a letter"
  })
)
const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const RegisterHttpToolRequest = Schema.Struct({
  projectId: Schema.String,
  name: ToolName,
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(2000)), { default: () => "" }),
  /** JSON Schema of the arguments object; arguments are validated against it before every call. */
  inputSchema: JsonObject,
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\/\S+$/, { message: () => "url must be an absolute http(s) URL" })),
  method: Schema.optionalWith(Schema.Literal("GET", "POST", "PUT"), { default: () => "POST" as const }),
  /** Sent with every call (e.g. an API key); stored, never returned. */
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 600_000)))
})

export const HttpToolView = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  inputSchema: JsonObject,
  url: Schema.String,
  method: Schema.String,
  /** Names only: header values may be secrets. */
  headerNames: Schema.Array(Schema.String),
  createdAt: Schema.Date
})

export const ExecuteToolRequest = Schema.Struct({
  projectId: Schema.String,
  arguments: Schema.optionalWith(Schema.Unknown, { default: () => ({}) }),
  /** Inactivity budget; MCP progress notifications restart it. */
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 3_600_000)))
})

export const RegisterMcpServerRequest = Schema.Struct({
  projectId: Schema.String,
  name: ServerName,
  /**
   * `{ type: "catalog", entry, params }` for a stdio server from the
   * operators' catalog, or `{ type: "http", url, headers }`. A raw
   * `{ type: "stdio", command, ... }` is accepted from platform operators only.
   */
  transport: McpRegisteredTransport
})

/**
 * A transport as shown back: never env, header or parameter values. Project
 * admins see env keys, header names, arguments and parameter names; other
 * members only what the server is (catalog entry, command, URL origin).
 */
export const McpTransportView = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("stdio"),
    command: Schema.String,
    args: Schema.optional(Schema.Array(Schema.String)),
    envKeys: Schema.optional(Schema.Array(Schema.String))
  }),
  Schema.Struct({
    type: Schema.Literal("catalog"),
    entry: Schema.String,
    /** Names of the parameters the project filled in; their values may be secrets and are never shown. */
    paramNames: Schema.optional(Schema.Array(Schema.String))
  }),
  Schema.Struct({
    type: Schema.Literal("http"),
    url: Schema.String,
    headerNames: Schema.optional(Schema.Array(Schema.String)),
    /** Registered with OAuth 2.1: an admin authorizes it (`POST /tools/mcp/servers/{id}/oauth/authorize`). */
    oauth: Schema.optional(Schema.Boolean)
  })
)

/**
 * A catalog entry as listed: every member sees its id, description and
 * parameters; the command line and env keys are shown to operators only.
 */
export const McpCatalogItemView = Schema.Struct({
  id: Schema.String,
  description: Schema.String,
  params: Schema.Array(McpCatalogParam),
  source: Schema.Literal("config", "operator"),
  command: Schema.optional(Schema.String),
  args: Schema.optional(Schema.Array(Schema.String)),
  envKeys: Schema.optional(Schema.Array(Schema.String))
})

/** PUT body: the entry without its id (the path names it). */
export const PutMcpCatalogEntryRequest = McpCatalogEntry.pipe(Schema.omit("id"))

export const McpServerView = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  transport: McpTransportView,
  status: Schema.String,
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.Date
})

export const McpServerDetail = Schema.Struct({
  server: McpServerView,
  session: McpSessionStatus,
  tools: Schema.Array(McpToolInfo),
  resources: Schema.Array(McpResourceInfo),
  prompts: Schema.Array(McpPromptInfo)
})

export const RegisterMcpServerResult = Schema.Struct({
  server: McpServerView,
  /** The first connection's outcome: registration succeeds even when the server is down. */
  session: McpSessionStatus,
  tools: Schema.Array(Schema.String)
})

const ProjectQuery = Schema.Struct({ projectId: Schema.optional(Schema.String) })

/**
 * An OAuth authorization of a remote MCP server: `authorized` (client_credentials, or stored
 * tokens still usable or refreshed) or `pending` with the URL to open in the user's browser.
 * Tokens are never part of it.
 */
export const McpOAuthAuthorization = Schema.Struct({
  serverId: Schema.String,
  status: Schema.Literal("authorized", "pending"),
  authorizationUrl: Schema.optional(Schema.String)
})

/** What the authorization server sent back to the redirect URL. */
export const CompleteMcpOAuthRequest = Schema.Struct({
  code: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)),
  state: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512))
})

/**
 * Tools of a project: MCP servers' tools, registered HTTP tools, built-ins;
 * MCP server registration. Reading needs membership, executing and
 * registering HTTP tools needs developer, registering an MCP server needs
 * admin; a stdio server is an instance of the operators' catalog (publishing
 * catalog entries is operator-only).
 */
export class ToolsApi extends HttpApiGroup.make("tools")
  .add(
    HttpApiEndpoint.get("listTools", "/tools")
      .setUrlParams(ProjectQuery)
      .addSuccess(Schema.Struct({ tools: Schema.Array(ToolView) }))
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("registerHttpTool", "/tools")
      .setPayload(RegisterHttpToolRequest)
      .addSuccess(HttpToolView, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("executeTool", "/tools/:id/execute")
      .setPath(Schema.Struct({ id: Schema.String }))
      .setPayload(ExecuteToolRequest)
      .addSuccess(ToolResult)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ToolNotFound)
      .addError(ToolInvalidArguments)
      .addError(ToolExecutionFailed)
      .addError(ToolTimeout)
  )
  .add(
    HttpApiEndpoint.get("listMcpServers", "/tools/mcp/servers")
      .setUrlParams(ProjectQuery)
      .addSuccess(Schema.Struct({ servers: Schema.Array(McpServerView) }))
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("getMcpServer", "/tools/mcp/servers/:serverId")
      .setPath(Schema.Struct({ serverId: Schema.String }))
      .addSuccess(McpServerDetail)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ToolExecutionFailed)
  )
  .add(
    HttpApiEndpoint.del("deleteMcpServer", "/tools/mcp/servers/:serverId")
      .setPath(Schema.Struct({ serverId: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("listMcpCatalog", "/tools/mcp/catalog")
      .addSuccess(Schema.Struct({ entries: Schema.Array(McpCatalogItemView) }))
  )
  .add(
    HttpApiEndpoint.put("putMcpCatalogEntry", "/tools/mcp/catalog/:entryId")
      .setPath(Schema.Struct({ entryId: Schema.String }))
      .setPayload(PutMcpCatalogEntryRequest)
      .addSuccess(McpCatalogItemView)
      .addError(BadRequest)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.del("deleteMcpCatalogEntry", "/tools/mcp/catalog/:entryId")
      .setPath(Schema.Struct({ entryId: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(Forbidden)
      .addError(NotFound)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("registerMcpServer", "/tools/mcp/register")
      .setPayload(RegisterMcpServerRequest)
      .addSuccess(RegisterMcpServerResult, { status: 201 })
      .addError(ToolExecutionFailed)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("authorizeMcpServer", "/tools/mcp/servers/:serverId/oauth/authorize")
      .setPath(Schema.Struct({ serverId: Schema.String }))
      .addSuccess(McpOAuthAuthorization)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ToolExecutionFailed)
  )
  .add(
    HttpApiEndpoint.post("completeMcpOAuth", "/tools/mcp/oauth/callback")
      .setPayload(CompleteMcpOAuthRequest)
      .addSuccess(McpOAuthAuthorization)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ToolExecutionFailed)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Tool registry: MCP servers (stdio / Streamable HTTP), HTTP tools, built-ins; safe execution")
{}
