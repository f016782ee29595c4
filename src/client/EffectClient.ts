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
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token))
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
