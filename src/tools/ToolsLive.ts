import { Layer } from "effect"
import { McpOAuthCredentials } from "./McpOAuthCredentials.ts"
import { McpSessionLive } from "./McpSessionLive.ts"
import { ToolCatalogLive, ToolRegistry } from "./ToolRegistry.ts"
import { McpServerSourceLive } from "./ToolRepo.ts"

/** The McpSession entity, reading server definitions from the registry tables and OAuth credentials from theirs. */
export const ToolsEntitiesLive = McpSessionLive.pipe(Layer.provide([McpServerSourceLive, McpOAuthCredentials.Default]))

/**
 * `ToolCatalog` (for agents and workflows) and the `ToolRegistry` behind it
 * (for the tools HTTP group and `/mcp`): one registry per process. Built-ins
 * pick up `RagSearch` and `SqlQueryTool` when they are provided below this.
 */
export const ToolsServicesLive = ToolCatalogLive.pipe(Layer.provideMerge(ToolRegistry.Default))
