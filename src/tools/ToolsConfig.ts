import { Config, Context, Effect, Layer } from "effect"

/** Tools service settings: MCP sessions, tool calls, the http_fetch allow-list. */
export interface ToolsConfigShape {
  /**
   * Hosts the `http_fetch` built-in may reach: `example.com`, `*.example.com`,
   * `127.0.0.1:8080` (host:port pins the port). Empty: the tool refuses every URL.
   */
  readonly httpFetchAllow: ReadonlyArray<string>
  /** Inactivity budget of one tool call; MCP progress notifications restart it. */
  readonly callTimeoutMs: number
  /** Hard cap of one tool call, progress or not. */
  readonly maxCallMs: number
  /** Largest HTTP tool / http_fetch response body kept (bytes); the rest is cut. */
  readonly httpMaxResponseBytes: number
  /** Commands a stdio MCP server may be started with (basename match). */
  readonly mcpStdioCommands: ReadonlyArray<string>
  readonly mcpConnectTimeoutMs: number
  /** An idle `McpSession` entity is passivated and its connection (process) closed after this. */
  readonly mcpIdleTimeoutMs: number
  /** Background reconnect attempts after an MCP server process dies (exponential backoff). */
  readonly mcpReconnectAttempts: number
}

const toolsSettings: Config.Config<ToolsConfigShape> = Config.all({
  httpFetchAllow: Config.array(Config.string(), "TOOLS_HTTP_FETCH_ALLOW").pipe(Config.withDefault([])),
  callTimeoutMs: Config.integer("TOOLS_CALL_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
  maxCallMs: Config.integer("TOOLS_MAX_CALL_MS").pipe(Config.withDefault(600_000)),
  httpMaxResponseBytes: Config.integer("TOOLS_HTTP_MAX_RESPONSE_BYTES").pipe(Config.withDefault(1024 * 1024)),
  mcpStdioCommands: Config.array(Config.string(), "MCP_STDIO_COMMANDS").pipe(
    Config.withDefault(["node", "bun", "npx", "bunx", "uvx", "python3"])
  ),
  mcpConnectTimeoutMs: Config.integer("MCP_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(20_000)),
  mcpIdleTimeoutMs: Config.integer("MCP_IDLE_TIMEOUT_MS").pipe(Config.withDefault(5 * 60_000)),
  mcpReconnectAttempts: Config.integer("MCP_RECONNECT_ATTEMPTS").pipe(Config.withDefault(5))
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class ToolsConfig extends Context.Tag("Tools/Config")<ToolsConfig, ToolsConfigShape>() {
  static readonly config = toolsSettings
  static readonly layer = Layer.effect(ToolsConfig, toolsSettings)
  static readonly layerWith = (overrides: Partial<ToolsConfigShape>) =>
    Layer.effect(ToolsConfig, Effect.map(toolsSettings, (settings) => ({ ...settings, ...overrides })))
}
