import { Effect } from "effect"

/**
 * The MCP SDK, loaded on first use: it (with zod) is ~15 MB of idle memory
 * and ~100 ms of start-up that a platform with no MCP traffic never needs.
 * Modules that use it import its types only (`import type`).
 */
const loadClient = async () => {
  const [client, auth, stdio, http, types] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/auth.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js")
  ])
  return {
    Client: client.Client,
    auth: auth.auth,
    UnauthorizedError: auth.UnauthorizedError,
    CreateMessageRequestSchema: types.CreateMessageRequestSchema,
    ListRootsRequestSchema: types.ListRootsRequestSchema,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    ElicitRequestSchema: types.ElicitRequestSchema,
    ErrorCode: types.ErrorCode,
    McpError: types.McpError,
    ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema
  }
}

const loadServer = async () => {
  const [server, http, types] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js")
  ])
  return {
    Server: server.Server,
    WebStandardStreamableHTTPServerTransport: http.WebStandardStreamableHTTPServerTransport,
    CallToolRequestSchema: types.CallToolRequestSchema,
    CompleteRequestSchema: types.CompleteRequestSchema,
    ErrorCode: types.ErrorCode,
    GetPromptRequestSchema: types.GetPromptRequestSchema,
    ListPromptsRequestSchema: types.ListPromptsRequestSchema,
    ListResourceTemplatesRequestSchema: types.ListResourceTemplatesRequestSchema,
    ListResourcesRequestSchema: types.ListResourcesRequestSchema,
    ListToolsRequestSchema: types.ListToolsRequestSchema,
    McpError: types.McpError,
    ReadResourceRequestSchema: types.ReadResourceRequestSchema,
    SetLevelRequestSchema: types.SetLevelRequestSchema
  }
}

export type McpClientSdk = Awaited<ReturnType<typeof loadClient>>
export type McpServerSdk = Awaited<ReturnType<typeof loadServer>>

let client: Promise<McpClientSdk> | undefined
let server: Promise<McpServerSdk> | undefined

export const mcpClientSdk: Effect.Effect<McpClientSdk> = Effect.promise(() => (client ??= loadClient()))
export const mcpServerSdk: Effect.Effect<McpServerSdk> = Effect.promise(() => (server ??= loadServer()))
