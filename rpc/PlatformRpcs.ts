import { AgentsRpcs, TasksRpcs } from "./AgentsRpcs.ts"
import { RagRpcs } from "./RagRpcs.ts"
import { SystemRpcs } from "./SystemRpcs.ts"
import { ToolsRpcs } from "./ToolsRpcs.ts"
import { WorkflowsRpcs } from "./WorkflowsRpcs.ts"

/**
 * Everything served on `/rpc` (HTTP) and `/rpc/ws` (WebSocket), NDJSON
 * serialization: what `RpcClient.make` takes (see src/client). Procedures are
 * prefixed by group (`agents.get`), so a client reads `client.agents.get(...)`.
 */
export const PlatformRpcs = SystemRpcs.merge(AgentsRpcs, TasksRpcs, WorkflowsRpcs, RagRpcs, ToolsRpcs)
