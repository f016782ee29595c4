import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Layer } from "effect"
import { PlatformRpcs } from "../../rpc/PlatformRpcs.ts"
import { AgentsRpcHandlersLive } from "../agents/AgentsRpcLive.ts"
import { RpcAuthenticationLive } from "../auth/RpcAuthenticationLive.ts"
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

/** `PlatformRpcs` over WebSocket (`/rpc/ws`) and over HTTP (`/rpc`), NDJSON. */
export const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttpRouter({ group: PlatformRpcs, path: "/rpc/ws", protocol: "websocket" }),
  RpcServer.layerHttpRouter({ group: PlatformRpcs, path: "/rpc", protocol: "http" })
).pipe(
  // Same tokens as the REST API; `?access_token=` for browsers' WebSockets.
  Layer.provide(RequireAuthenticationLive),
  Layer.provide(RpcHandlers),
  Layer.provide(RpcAuthenticationLive),
  Layer.provide(GatewayServicesLive),
  Layer.provide(RpcSerialization.layerNdjson)
)
