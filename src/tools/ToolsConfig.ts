import { Config, ConfigError, Context, Effect, Either, Layer, Schema } from "effect"
import * as fs from "node:fs"
import { McpCatalogEntry } from "../domain/Mcp.ts"
import * as Values from "../config/Values.ts"

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
  /**
   * The operator's stdio MCP server catalog from configuration (read-only
   * entries; operators add more through `PUT /tools/mcp/catalog/{id}`).
   * Projects instantiate entries by id; nobody else supplies a command line.
   */
  readonly mcpStdioCatalog: ReadonlyArray<McpCatalogEntry>
  readonly mcpConnectTimeoutMs: number
  /** An idle `McpSession` entity is passivated and its connection (process) closed after this. */
  readonly mcpIdleTimeoutMs: number
  /** Background reconnect attempts after an MCP server process dies (exponential backoff). */
  readonly mcpReconnectAttempts: number
}

const decodeCatalog = Schema.decodeUnknownEither(Schema.Array(McpCatalogEntry))

/** MCP_STDIO_CATALOG: a JSON array of entries, or the path of a file holding one. */
const parseCatalog = (raw: string) => {
  const text = raw.trim()
  if (text === "") return Either.right([])
  let json: unknown
  try {
    json = JSON.parse(text.startsWith("[") ? text : fs.readFileSync(text, "utf8"))
  } catch {
    return Either.left(ConfigError.InvalidData(["MCP_STDIO_CATALOG"], "expected a JSON array of entries or the path of a JSON file"))
  }
  return Either.mapLeft(decodeCatalog(json), (e) =>
    ConfigError.InvalidData(["MCP_STDIO_CATALOG"], `invalid catalog entry: ${e.message.split("\n").slice(-1)[0]}`))
}

const toolsSettings: Config.Config<ToolsConfigShape> = Config.all({
  httpFetchAllow: Config.array(Config.string(), "TOOLS_HTTP_FETCH_ALLOW").pipe(Config.withDefault([])),
  callTimeoutMs: Values.positiveInteger("TOOLS_CALL_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
  maxCallMs: Values.positiveInteger("TOOLS_MAX_CALL_MS").pipe(Config.withDefault(600_000)),
  httpMaxResponseBytes: Values.positiveInteger("TOOLS_HTTP_MAX_RESPONSE_BYTES").pipe(Config.withDefault(1024 * 1024)),
  mcpStdioCatalog: Config.string("MCP_STDIO_CATALOG").pipe(
    Config.withDefault(""),
    Config.mapOrFail(parseCatalog)
  ),
  mcpConnectTimeoutMs: Values.positiveInteger("MCP_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(20_000)),
  mcpIdleTimeoutMs: Values.positiveInteger("MCP_IDLE_TIMEOUT_MS").pipe(Config.withDefault(5 * 60_000)),
  mcpReconnectAttempts: Values.nonNegativeInteger("MCP_RECONNECT_ATTEMPTS").pipe(Config.withDefault(5))
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class ToolsConfig extends Context.Tag("Tools/Config")<ToolsConfig, ToolsConfigShape>() {
  static readonly config = toolsSettings
  static readonly layer = Layer.effect(ToolsConfig, toolsSettings)
  static readonly layerWith = (overrides: Partial<ToolsConfigShape>) =>
    Layer.effect(ToolsConfig, Effect.map(toolsSettings, (settings) => ({ ...settings, ...overrides })))
}
