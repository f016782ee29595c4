import { FetchHttpClient, HttpClient, HttpClientRequest, Socket } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Context, Effect, Layer } from "effect"
import { PlatformRpcs } from "../../rpc/PlatformRpcs.ts"

export interface ConnectionOptions {
  /** The platform's base URL, e.g. `http://localhost:8000`. */
  readonly baseUrl: string
  /** An access token (`/auth/login`) or an API key. */
  readonly token: string
  /** `http` (default): one request per call, streams as chunked NDJSON; `websocket`: one socket for every call. */
  readonly transport?: "http" | "websocket" | undefined
}

const trimmed = (baseUrl: string) => baseUrl.replace(/\/+$/, "")

/** `POST /rpc` with the token as a bearer header. */
export const httpProtocol = (options: ConnectionOptions) =>
  RpcClient.layerProtocolHttp({
    url: `${trimmed(options.baseUrl)}/rpc`,
    // A refused request (401 before the RPC server, 429, 413) is not NDJSON: fail the call instead of waiting for
    // replies. The protocol turns every error of its HTTP client into an RpcClientError, so the wider E is safe.
    transformClient: <E, R>(client: HttpClient.HttpClient.With<E, R>) =>
      client.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token)), HttpClient.filterStatusOk) as unknown as HttpClient.HttpClient.With<E, R>
  }).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(RpcSerialization.layerNdjson))

/** Bun (the CLI, servers) can set headers on a WebSocket handshake; browsers cannot. */
const handshakeHeaders = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"

/**
 * `/rpc/ws`. On Bun the token is an `Authorization` header of the handshake; elsewhere (browsers) it
 * rides in the query (`?access_token=`), which the server accepts on upgrades only.
 */
export const webSocketProtocol = (options: ConnectionOptions) => {
  const url = `${trimmed(options.baseUrl).replace(/^http/, "ws")}/rpc/ws`
  const constructor = handshakeHeaders
    ? Layer.succeed(Socket.WebSocketConstructor, (url: string, protocols?: string | Array<string>) =>
      // Bun's WebSocket takes `{ headers, protocols }` as its second argument.
      new WebSocket(url, { headers: { authorization: `Bearer ${options.token}` }, ...(protocols ? { protocols } : {}) } as unknown as Array<string>))
    : Socket.layerWebSocketConstructorGlobal
  return RpcClient.layerProtocolSocket().pipe(
    Layer.provide(Socket.layerWebSocket(handshakeHeaders ? url : `${url}?access_token=${encodeURIComponent(options.token)}`)),
    Layer.provide(constructor),
    Layer.provide(RpcSerialization.layerNdjson)
  )
}

export const protocolFor = (options: ConnectionOptions) =>
  options.transport === "websocket" ? webSocketProtocol(options) : httpProtocol(options)

/** The typed client of every platform RPC: `client.agents.get({ id })`, `client.tasks.stream({ ... })`. */
export const makePlatformRpcClient = RpcClient.make(PlatformRpcs)

export type PlatformRpcClient = Effect.Effect.Success<typeof makePlatformRpcClient>

/**
 * The typed client as a service:
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const client = yield* PlatformClient
 *   const agent = yield* client.agents.create({ projectId, name: "helper" })
 *   return yield* client.agents.execute({ agentId: agent.id, text: "hello" })
 * })
 * program.pipe(Effect.provide(PlatformClient.layer({ baseUrl, token })), Effect.runPromise)
 * ```
 */
export class PlatformClient extends Context.Tag("AgentPlatform/PlatformClient")<PlatformClient, PlatformRpcClient>() {
  static layer = (options: ConnectionOptions) =>
    Layer.scoped(PlatformClient, makePlatformRpcClient).pipe(Layer.provide(protocolFor(options)))
}
