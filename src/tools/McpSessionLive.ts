import { Entity } from "@effect/cluster"
import { Effect, Either, Layer, Option, Queue, Runtime, Schedule } from "effect"
import { McpSession } from "../../entities/McpSession.ts"
import type { McpSamplingSettings, McpToolInfo } from "../domain/Mcp.ts"
import { describeIssues, validateArguments } from "./JsonSchemaValidator.ts"
import { ToolExecutionFailed, ToolInvalidArguments, ToolNotFound, ToolTimeout } from "../domain/Tool.ts"
import { McpConnection, type McpRequestError, type SamplingRequest } from "../mcp/McpConnection.ts"
import { type McpServerDefinition, McpServerSource } from "../mcp/McpServerSource.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { McpOAuthCredentials } from "./McpOAuthCredentials.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { ToolsConfig } from "./ToolsConfig.ts"

/**
 * `sampling/createMessage` answered by the registration's model through the platform's
 * LanguageModel (retries, timeouts, spans), never with more than its token cap.
 */
const samplingWith = (llm: LanguageModel, settings: McpSamplingSettings, runtime: Runtime.Runtime<never>) =>
  async (request: SamplingRequest) => {
    const response = await Runtime.runPromise(runtime)(llm.generate({
      provider: settings.provider,
      model: settings.model,
      maxTokens: Math.min(request.maxTokens, settings.maxTokens),
      messages: [
        ...(request.systemPrompt !== undefined ? [{ role: "system" as const, content: request.systemPrompt }] : []),
        ...request.messages.map((m) =>
          m.role === "user" ? { role: "user" as const, content: m.text } : { role: "assistant" as const, content: m.text, toolCalls: [] }
        )
      ]
    }))
    return { text: response.text, model: response.model, truncated: response.finishReason === "length" }
  }

/**
 * The `McpSession` entity: this instance's fields ARE the session state. It
 * holds at most one live `McpConnection`, opened on first use and replaced
 * when it dies (immediately in the background with exponential backoff, and
 * again on the next message if that did not succeed). Passivation closes the
 * scope, whose finalizer closes the connection (and so stops the process).
 */
const makeSession = Effect.gen(function*() {
  const { entityId: serverId } = yield* Entity.CurrentAddress
  const source = yield* McpServerSource
  const settings = yield* ToolsConfig
  const egress = yield* EgressPolicy
  // Optional: the platform provides it (ToolsEntitiesLive); harnesses without a database run servers without OAuth.
  const oauth = yield* Effect.serviceOption(McpOAuthCredentials)
  const llm = yield* Effect.serviceOption(LanguageModel)
  const runtime = yield* Effect.runtime<never>()

  let definition: McpServerDefinition | undefined
  let connection: McpConnection | undefined
  let tools: ReadonlyMap<string, McpToolInfo> | undefined
  let connects = 0
  let inFlight = 0
  let lastError: string | null = null
  let shuttingDown = false

  const lock = yield* Effect.makeSemaphore(1)
  const died = yield* Queue.sliding<McpConnection>(1)

  const label = () => `MCP server '${definition?.name ?? serverId}'`
  const failed = (message: string) => new ToolExecutionFailed({ tool: definition?.name ?? serverId, message })

  const loadDefinition = Effect.suspend(() =>
    definition !== undefined ? Effect.succeed(definition) : source.get(serverId).pipe(
      Effect.mapError((e) => failed(e.message)),
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(failed(`MCP server ${serverId} is not registered`)),
        onSome: (d) => Effect.sync(() => (definition = d))
      }))
    )
  )

  const connectOnce = Effect.gen(function*() {
    const def = yield* loadDefinition
    // Assigned once connected: a close during the handshake concerns no session yet.
    let opened: McpConnection | undefined = undefined
    const t = def.transport
    opened = yield* McpConnection.connect(t, {
      timeoutMs: settings.mcpConnectTimeoutMs,
      // The project's share of outbound requests: its servers' event streams stay open while connected.
      fetch: egress.fetchFor(def.projectId),
      // Stored tokens, refreshed by the SDK when they expire; never a new authorization from here.
      ...(t.sampling !== undefined && Option.isSome(llm)
        ? { sampling: samplingWith(llm.value, t.sampling, runtime) }
        : {}),
      ...(t.type === "http" && t.oauth !== undefined && Option.isSome(oauth)
        ? { authProvider: oauth.value.provider({ projectId: def.projectId, id: def.id, oauth: t.oauth }) }
        : {}),
      onClose: () => {
        if (opened === undefined || connection !== opened) return
        connection = undefined
        tools = undefined
        // Read the definition again on reconnect: an operator may have changed or withdrawn its catalog entry.
        definition = undefined
        const stderr = opened.stderrTail()
        lastError = `the server process exited${stderr ? ` (stderr: ${stderr})` : ""}`
        if (!shuttingDown) Queue.unsafeOffer(died, opened)
      },
      onToolsChanged: () => {
        if (opened !== undefined && connection === opened) tools = undefined
      }
    }).pipe(Effect.mapError((e: McpRequestError) =>
      failed(
        e.reason === "unauthorized"
          ? `${label()} needs an OAuth authorization: POST /tools/mcp/servers/${serverId}/oauth/authorize`
          : `${label()}: ${e.message}`
      )
    ))
    connection = opened
    connects++
    lastError = null
    yield* source.report(serverId, "connected", null)
    yield* Effect.logInfo("MCP session connected").pipe(
      Effect.annotateLogs({ serverId, server: def.name, pid: opened.pid ?? "-" })
    )
    return opened
  }).pipe(
    Effect.tapError((e) =>
      Effect.zipRight(
        Effect.sync(() => (lastError = e.message)),
        source.report(serverId, "error", e.message)
      )
    )
  )

  const retryConnect = (attempts: number) =>
    connectOnce.pipe(
      Effect.retry({
        schedule: Schedule.exponential("200 millis").pipe(
          Schedule.union(Schedule.spaced("10 seconds")),
          Schedule.intersect(Schedule.recurs(Math.max(0, attempts - 1)))
        ),
        // An unregistered server will not appear by retrying.
        while: () => definition !== undefined
      })
    )

  /**
   * The open connection, or a new one (two quick retries: the caller is
   * waiting). The lock is only taken to connect: the hot path is lock-free.
   */
  const connected = Effect.suspend(() =>
    connection?.isOpen ? Effect.succeed(connection) : lock.withPermits(1)(
      Effect.suspend(() => connection?.isOpen ? Effect.succeed(connection) : retryConnect(3))
    )
  )

  const drop = (broken: McpConnection) =>
    Effect.suspend(() => {
      if (connection === broken) {
        connection = undefined
        tools = undefined
      }
      return broken.close
    })

  // Reconnect in the background after the server process dies, so the next
  // call usually finds a fresh connection. Interrupted on passivation.
  yield* Queue.take(died).pipe(
    Effect.zipRight(Effect.sleep("100 millis")),
    Effect.zipRight(lock.withPermits(1)(
      Effect.suspend(() => connection?.isOpen ? Effect.void : Effect.asVoid(retryConnect(settings.mcpReconnectAttempts)))
    )),
    Effect.catchAll((e) => Effect.logWarning("MCP reconnect gave up", e.message)),
    Effect.forever,
    Effect.forkScoped
  )

  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      shuttingDown = true
      const open = connection
      connection = undefined
      return open === undefined ? Effect.void : Effect.zipRight(
        Effect.logDebug("MCP session passivated: closing connection").pipe(Effect.annotateLogs({ serverId })),
        open.close
      )
    })
  )

  /** Runs a request on the live connection; a transport failure retires that connection. */
  const onConnection = <A>(run: (c: McpConnection) => Effect.Effect<A, McpRequestError>) =>
    Effect.flatMap(connected, (c) =>
      run(c).pipe(
        Effect.catchAll((e) =>
          e.reason === "connection"
            ? Effect.zipRight(drop(c), Effect.fail(failed(`${label()}: ${e.message}`)))
            : Effect.fail(failed(`${label()}: ${e.message}`))
        )
      ))

  const toolMap = onConnection((c) =>
    tools !== undefined ? Effect.succeed(tools) : c.listTools().pipe(
      Effect.map((list) => {
        const map = new Map(list.map((t) => [t.name, t] as const))
        if (connection === c) tools = map
        return map as ReadonlyMap<string, McpToolInfo>
      })
    )
  )

  const status = Effect.sync(() => ({
    serverId,
    connected: connection?.isOpen === true,
    pid: connection?.pid ?? null,
    connects,
    inFlight,
    serverInfo: connection?.serverInfo ?? null,
    lastError
  }))

  return McpSession.of({
    Connect: () => Effect.zipRight(connected, status),
    ListTools: () => Effect.map(toolMap, (m) => [...m.values()]),
    ListResources: () => onConnection((c) => c.listResources()),
    ListPrompts: () => onConnection((c) => c.listPrompts()),
    CallTool: ({ payload }) =>
      Effect.gen(function*() {
        const available = yield* toolMap
        const tool = available.get(payload.name)
        if (tool === undefined) {
          return yield* new ToolNotFound({ tool: payload.name, message: `${label()} has no tool ${payload.name}` })
        }
        const checked = validateArguments(tool.inputSchema, payload.arguments)
        if (Either.isLeft(checked)) {
          return yield* new ToolInvalidArguments({
            tool: payload.name,
            message: describeIssues(payload.name, checked.left),
            issues: checked.left
          })
        }
        const timeoutMs = payload.timeoutMs ?? settings.callTimeoutMs
        const c = connection?.isOpen ? connection : yield* connected
        inFlight++
        return yield* c.callTool(payload.name, checked.right as Record<string, unknown>, {
          timeoutMs,
          maxTotalMs: Math.max(timeoutMs, settings.maxCallMs)
        }).pipe(
          Effect.ensuring(Effect.sync(() => inFlight--)),
          Effect.catchAll((e): Effect.Effect<never, ToolExecutionFailed | ToolTimeout> => {
            if (e.reason === "timeout") {
              return Effect.fail(
                new ToolTimeout({
                  tool: payload.name,
                  timeoutMs,
                  message: `${payload.name} made no progress for ${timeoutMs} ms`
                })
              )
            }
            const failure = failed(`${label()}: ${e.message}${e.reason === "connection" && lastError ? ` — ${lastError}` : ""}`)
            return e.reason === "connection"
              ? Effect.zipRight(drop(c), Effect.fail(failure))
              : Effect.fail(failure)
          })
        )
      }),
    Status: () => status,
    Disconnect: () =>
      lock.withPermits(1)(Effect.suspend(() => {
        const open = connection
        connection = undefined
        tools = undefined
        definition = undefined
        return open === undefined ? Effect.void : open.close
      }))
  })
})

/** The entity's handler layer; idle time comes from `ToolsConfig.mcpIdleTimeoutMs`. */
export const McpSessionLive = Layer.unwrapEffect(
  Effect.map(ToolsConfig, (toolsConfig) =>
    McpSession.toLayer(makeSession, {
      maxIdleTime: toolsConfig.mcpIdleTimeoutMs,
      // The SDK client multiplexes requests: calls to one server run side by side.
      concurrency: "unbounded"
    }))
)
