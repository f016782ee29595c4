import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import {
  ToolExecutionFailed,
  ToolInvalidArguments,
  ToolNotFound,
  ToolResult,
  ToolTimeout
} from "../src/domain/Tool.ts"
import { McpToolInfo, McpResourceInfo, McpPromptInfo, McpSessionStatus, McpCallTool } from "../src/domain/Mcp.ts"

/**
 * One MCP server connection of a project, as an entity: the entity id is the
 * server's id (`tool_instances.id`). The instance owns the live SDK client
 * (the spawned process or the HTTP session): it connects on first use,
 * reconnects with backoff when the server dies, and closes the connection
 * when the entity is passivated after being idle.
 *
 * Messages are volatile on purpose: a tool call is not idempotent, so a call
 * in flight when a runner crashes must fail rather than be replayed.
 */

export const McpSession = Entity.make("McpSession", [
  Rpc.make("Connect", { success: McpSessionStatus, error: ToolExecutionFailed }),
  Rpc.make("ListTools", { success: Schema.Array(McpToolInfo), error: ToolExecutionFailed }),
  Rpc.make("ListResources", { success: Schema.Array(McpResourceInfo), error: ToolExecutionFailed }),
  Rpc.make("ListPrompts", { success: Schema.Array(McpPromptInfo), error: ToolExecutionFailed }),
  Rpc.make("CallTool", {
    payload: McpCallTool,
    success: ToolResult,
    error: Schema.Union(ToolNotFound, ToolInvalidArguments, ToolExecutionFailed, ToolTimeout)
  }),
  Rpc.make("Status", { success: McpSessionStatus }),
  /** Drops the connection (server updated or deleted); the next message reconnects with fresh config. */
  Rpc.make("Disconnect", { success: Schema.Void })
])
