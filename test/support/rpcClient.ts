import { FetchHttpClient, HttpClient, HttpClientRequest, Socket } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import type { Rpc, RpcGroup } from "@effect/rpc"
import { Effect, Layer } from "effect"

/** RpcClient protocol over WebSocket, ndjson like the server. */
export const wsProtocol = (url: string) =>
  RpcClient.layerProtocolSocket().pipe(
    Layer.provide(Socket.layerWebSocket(url)),
    Layer.provide(Socket.layerWebSocketConstructorGlobal),
    Layer.provide(RpcSerialization.layerNdjson)
  )

/** RpcClient protocol over HTTP, with optional extra headers (e.g. authorization). */
export const httpProtocol = (url: string, headers: Record<string, string> = {}) =>
  RpcClient.layerProtocolHttp({
    url,
    transformClient: HttpClient.mapRequest(HttpClientRequest.setHeaders(headers))
  }).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(RpcSerialization.layerNdjson))

/** Runs `f` with a client of `group` over `protocol`, closing it afterwards. */
export const withRpcClient = <Rpcs extends Rpc.Any, A, E>(
  group: RpcGroup.RpcGroup<Rpcs>,
  protocol: Layer.Layer<RpcClient.Protocol>,
  f: (client: RpcClient.RpcClient<Rpcs>) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(RpcClient.make(group), f)).pipe(Effect.provide(protocol))
