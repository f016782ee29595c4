import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Data, Effect } from "effect"
import type { McpPromptInfo, McpResourceInfo, McpToolInfo, McpTransportConfig } from "../domain/Mcp.ts"
import type { ToolResult } from "../domain/Tool.ts"
import { type McpClientSdk, mcpClientSdk } from "./McpSdk.ts"
import { normaliseCallResult } from "./NormaliseResult.ts"

/** Why a request to an MCP server did not produce a result. */
export class McpRequestError extends Data.TaggedError("McpRequestError")<{
  /** `unauthorized`: the server wants OAuth and no usable token is stored (an authorization must be completed). */
  readonly reason: "timeout" | "connection" | "protocol" | "cancelled" | "unauthorized"
  readonly message: string
}> {}

export const CLIENT_INFO = { name: "agent-platform", version: "0.1.0" } as const

/** A server's `sampling/createMessage`, text only (other content kinds are dropped). */
export interface SamplingRequest {
  readonly systemPrompt?: string
  readonly messages: ReadonlyArray<{ readonly role: "user" | "assistant"; readonly text: string }>
  readonly maxTokens: number
}

const STDERR_TAIL_BYTES = 2048
const MAX_PAGES = 100

/**
 * Classifies an SDK failure. Anything that is not an MCP protocol error (a
 * dead process, a refused socket, an unknown HTTP session) means the
 * connection is unusable and must be replaced.
 */
const classify = (sdk: McpClientSdk, error: unknown, signal?: AbortSignal): McpRequestError => {
  const { ErrorCode, McpError } = sdk
  if (signal?.aborted) return new McpRequestError({ reason: "cancelled", message: "the call was cancelled" })
  if (error instanceof sdk.UnauthorizedError) {
    // The SDK's text may quote the server; the reason is all a caller needs.
    return new McpRequestError({ reason: "unauthorized", message: "the MCP server requires an OAuth authorization" })
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) return new McpRequestError({ reason: "timeout", message: error.message })
    if (error.code === ErrorCode.ConnectionClosed) {
      return new McpRequestError({ reason: "connection", message: "the MCP server closed the connection" })
    }
    return new McpRequestError({ reason: "protocol", message: error.message })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new McpRequestError({ reason: "connection", message })
}

/**
 * One live connection to an MCP server (a spawned process or a Streamable
 * HTTP session), wrapped so callers get Effects and normalised values. It
 * does not reconnect: the owner (the `McpSession` entity) replaces it.
 */
export class McpConnection {
  private open = true
  private stderrBuffer = ""

  private constructor(
    private readonly sdk: McpClientSdk,
    readonly client: Client,
    private readonly transport: StdioClientTransport | StreamableHTTPClientTransport
  ) {}

  /**
   * Connects and performs the MCP handshake. `onClose` runs once when the
   * connection ends for any reason (process exit, `close`).
   */
  static connect(
    config: McpTransportConfig,
    options: {
      readonly timeoutMs: number
      readonly onClose: () => void
      readonly onToolsChanged: () => void
      /** The fetch of Streamable HTTP transports: the egress policy's, so every request is checked and pinned. */
      readonly fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>
      /** OAuth 2.1 for Streamable HTTP servers: discovery, registration, token and refresh requests use `fetch` too. */
      readonly authProvider?: OAuthClientProvider
      /** Answers the server's `sampling/createMessage`; absent, sampling is not declared (and so refused). */
      readonly sampling?: (request: SamplingRequest) => Promise<{ readonly text: string; readonly model: string; readonly truncated: boolean }>
    }
  ): Effect.Effect<McpConnection, McpRequestError> {
    return Effect.flatMap(mcpClientSdk, (sdk) => {
      const { Client, ElicitRequestSchema, StdioClientTransport, StreamableHTTPClientTransport, ToolListChangedNotificationSchema } = sdk
      const transport = config.type === "stdio"
        ? new StdioClientTransport({
          command: config.command,
          args: [...config.args],
          env: { ...config.env },
          ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
          // Piped and drained: inherited stderr would mix servers' logs into ours,
          // an undrained pipe would block the server once the buffer fills.
          stderr: "pipe"
        })
        : new StreamableHTTPClientTransport(new URL(config.url), {
          requestInit: { headers: { ...config.headers } },
          ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
          ...(options.authProvider !== undefined ? { authProvider: options.authProvider } : {})
        })
      // Elicitation is declared so a server may ask, and answered by policy: tool calls run for an
      // agent with no person attached to the call, so every request is declined (the server then
      // goes on without the input, or fails the call in a way the model can read).
      // Roots are declared with an empty list: a project has no filesystem of the platform's to offer
      // (stdio servers get their directories from the operator's catalog entry), and a server that
      // asks learns that instead of getting "method not found".
      const client = new Client(CLIENT_INFO, {
        capabilities: { elicitation: {}, roots: { listChanged: false }, ...(options.sampling !== undefined ? { sampling: {} } : {}) }
      })
      const sampling = options.sampling
      if (sampling !== undefined) {
        client.setRequestHandler(sdk.CreateMessageRequestSchema, async (req) => {
          const text = (content: unknown) =>
            (Array.isArray(content) ? content : [content])
              .map((c) => (typeof c === "object" && c !== null && (c as { type?: unknown }).type === "text" ? String((c as { text?: unknown }).text) : ""))
              .join("")
          const answer = await sampling({
            ...(req.params.systemPrompt !== undefined ? { systemPrompt: req.params.systemPrompt } : {}),
            messages: req.params.messages.map((m) => ({ role: m.role, text: text(m.content) })),
            maxTokens: req.params.maxTokens
          })
          return {
            role: "assistant" as const,
            content: { type: "text" as const, text: answer.text },
            model: answer.model,
            stopReason: answer.truncated ? "maxTokens" : "endTurn"
          }
        })
      }
      client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "decline" as const }))
      client.setRequestHandler(sdk.ListRootsRequestSchema, async () => ({ roots: [] }))
      const connection = new McpConnection(sdk, client, transport)
      if (transport instanceof StdioClientTransport) {
        transport.stderr?.on("data", (chunk: Buffer) => connection.appendStderr(chunk.toString("utf8")))
      }
      client.onclose = () => {
        if (!connection.open) return
        connection.open = false
        options.onClose()
      }
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.onToolsChanged())
      return Effect.tryPromise({
        try: (signal) => client.connect(transport, { signal, timeout: options.timeoutMs }),
        catch: (e) => {
          const failure = classify(sdk, e)
          const stderr = connection.stderrTail()
          return new McpRequestError({
            reason: failure.reason === "timeout" || failure.reason === "unauthorized" ? failure.reason : "connection",
            message: `could not connect: ${failure.message}${stderr ? ` (server stderr: ${stderr})` : ""}`
          })
        }
      }).pipe(
        Effect.as(connection),
        // A half-open transport (spawned process, no handshake) must not outlive the failure.
        Effect.tapError(() => connection.close),
        Effect.onInterrupt(() => connection.close)
      )
    })
  }

  private appendStderr(text: string) {
    this.stderrBuffer = (this.stderrBuffer + text).slice(-STDERR_TAIL_BYTES)
  }

  /** The last lines the server wrote to stderr: the useful part of "why did it die". */
  stderrTail(): string {
    return this.stderrBuffer.trim().split("\n").slice(-5).join(" | ")
  }

  get isOpen(): boolean {
    return this.open
  }

  get pid(): number | null {
    return this.transport instanceof this.sdk.StdioClientTransport ? this.transport.pid : null
  }

  get serverInfo(): { name: string; version: string } | null {
    const info = this.client.getServerVersion()
    return info ? { name: info.name, version: info.version } : null
  }

  /** Idempotent; for stdio: end stdin, then SIGTERM, then SIGKILL (the SDK's escalation). */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.open = false
    const transport = this.transport
    return Effect.promise(async () => {
      if (transport instanceof this.sdk.StreamableHTTPClientTransport && transport.sessionId !== undefined) {
        await transport.terminateSession().catch(() => undefined)
      }
      await this.client.close().catch(() => undefined)
    })
  })

  private request<A>(run: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, McpRequestError> {
    return Effect.tryPromise({ try: run, catch: (e) => classify(this.sdk, e) })
  }

  /** Follows `nextCursor` until the server stops paging. */
  private paged<T>(
    fetchPage: (cursor: string | undefined, signal: AbortSignal) => Promise<{ items: ReadonlyArray<T>; nextCursor?: string }>
  ): Effect.Effect<ReadonlyArray<T>, McpRequestError> {
    return Effect.gen(this, function*() {
      const all: Array<T> = []
      let cursor: string | undefined
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = yield* this.request((signal) => fetchPage(cursor, signal))
        all.push(...result.items)
        cursor = result.nextCursor
        if (cursor === undefined || cursor === "") break
      }
      return all
    })
  }

  listTools(): Effect.Effect<ReadonlyArray<McpToolInfo>, McpRequestError> {
    return this.paged(async (cursor, signal) => {
      const r = await this.client.listTools(cursor ? { cursor } : undefined, { signal })
      return {
        items: r.tools.map((t) => ({
          name: t.name,
          ...(t.title !== undefined ? { title: t.title } : {}),
          description: t.description ?? "",
          inputSchema: t.inputSchema as Record<string, unknown>
        })),
        ...(r.nextCursor !== undefined ? { nextCursor: r.nextCursor } : {})
      }
    })
  }

  listResources(): Effect.Effect<ReadonlyArray<McpResourceInfo>, McpRequestError> {
    if (!this.client.getServerCapabilities()?.resources) return Effect.succeed([])
    return this.paged(async (cursor, signal) => {
      const r = await this.client.listResources(cursor ? { cursor } : undefined, { signal })
      return {
        items: r.resources.map((x) => ({
          uri: x.uri,
          name: x.name,
          ...(x.description !== undefined ? { description: x.description } : {}),
          ...(x.mimeType !== undefined ? { mimeType: x.mimeType } : {})
        })),
        ...(r.nextCursor !== undefined ? { nextCursor: r.nextCursor } : {})
      }
    })
  }

  listPrompts(): Effect.Effect<ReadonlyArray<McpPromptInfo>, McpRequestError> {
    if (!this.client.getServerCapabilities()?.prompts) return Effect.succeed([])
    return this.paged(async (cursor, signal) => {
      const r = await this.client.listPrompts(cursor ? { cursor } : undefined, { signal })
      return {
        items: r.prompts.map((p) => ({
          name: p.name,
          ...(p.description !== undefined ? { description: p.description } : {}),
          arguments: (p.arguments ?? []).map((a) => ({
            name: a.name,
            ...(a.description !== undefined ? { description: a.description } : {}),
            ...(a.required !== undefined ? { required: a.required } : {})
          }))
        })),
        ...(r.nextCursor !== undefined ? { nextCursor: r.nextCursor } : {})
      }
    })
  }

  /**
   * `tools/call` with an inactivity timeout: each progress notification
   * restarts it (the SDK only asks for progress when `onprogress` is set), and
   * `maxTotalMs` caps a server that reports progress forever. Interruption
   * aborts the request, which sends `notifications/cancelled` to the server.
   */
  callTool(
    name: string,
    args: Record<string, unknown>,
    options: { readonly timeoutMs: number; readonly maxTotalMs: number; readonly onProgress?: () => void }
  ): Effect.Effect<ToolResult, McpRequestError> {
    return Effect.tryPromise({
      try: (signal) =>
        this.client.callTool({ name, arguments: args }, undefined, {
          signal,
          timeout: options.timeoutMs,
          resetTimeoutOnProgress: true,
          maxTotalTimeout: options.maxTotalMs,
          onprogress: () => options.onProgress?.()
        }),
      catch: (e) => classify(this.sdk, e)
    }).pipe(Effect.map((result) => normaliseCallResult(result as Record<string, unknown>)))
  }
}
