import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Layer } from "effect"
import { PlatformRpcs } from "../../rpc/PlatformRpcs.ts"
import { AgentsRpcHandlersLive } from "../agents/AgentsRpcLive.ts"
import { RPC_SYSTEM } from "../observability/SpanSink.ts"
import { RateLimiter } from "../gateway/RateLimiter.ts"
import { RpcAuthenticationLimited } from "../gateway/RpcCallLimit.ts"
import { RpcSocketSlots } from "../gateway/RpcSocketSlots.ts"
import { RagRpcLive } from "../rag/RagRpcLive.ts"
import { JobRepo } from "../system/JobRepo.ts"
import { SystemRpcsLive } from "../system/Rpc.ts"
import { ToolsRpcLive } from "../tools/ToolsRpcLive.ts"
import { WorkflowsRpcLive } from "../workflows/WorkflowsRpcLive.ts"
import { GatewayServicesLive, RequireAuthenticationLive } from "./GatewayLive.ts"

/** Handlers of every group in `PlatformRpcs`, each on the same services as its REST handlers. */
const RpcHandlers = Layer.mergeAll(
  SystemRpcsLive.pipe(Layer.provide(JobRepo.Default)),
  AgentsRpcHandlersLive,
  WorkflowsRpcLive,
  RagRpcLive,
  ToolsRpcLive
)

/** Marks the calls' spans: a trivial call's span is sampled for storage as a trivial request's (SpanSink). */
const spanAttributes = { "rpc.system": RPC_SYSTEM }

/** `PlatformRpcs` over WebSocket (`/rpc/ws`) and over HTTP (`/rpc`), NDJSON. */
export const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttpRouter({ group: PlatformRpcs, path: "/rpc/ws", protocol: "websocket", spanAttributes }),
  RpcServer.layerHttpRouter({ group: PlatformRpcs, path: "/rpc", protocol: "http", spanAttributes })
).pipe(
  // Same tokens as the REST API; `?access_token=` for browsers' WebSockets.
  Layer.provide(RequireAuthenticationLive),
  Layer.provide(RpcSocketSlots.layer),
  Layer.provide(RpcHandlers),
  Layer.provide(RpcAuthenticationLimited),
  // The same buckets as the HTTP edge's (layers are shared by reference within one build).
  Layer.provide(RateLimiter.layer),
  Layer.provide(GatewayServicesLive),
  Layer.provide(RpcSerialization.layerNdjson)
)
