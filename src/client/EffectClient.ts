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

/** `/rpc/ws`; the token rides in the query because browsers cannot set headers on a WebSocket handshake. */
export const webSocketProtocol = (options: ConnectionOptions) =>
  RpcClient.layerProtocolSocket().pipe(
    Layer.provide(
      Socket.layerWebSocket(`${trimmed(options.baseUrl).replace(/^http/, "ws")}/rpc/ws?access_token=${encodeURIComponent(options.token)}`)
    ),
    Layer.provide(Socket.layerWebSocketConstructorGlobal),
    Layer.provide(RpcSerialization.layerNdjson)
  )

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
