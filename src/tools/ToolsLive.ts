import { Layer } from "effect"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import { McpOAuthCredentials } from "./McpOAuthCredentials.ts"
import { McpSessionLive } from "./McpSessionLive.ts"
import { ToolCatalogLive, ToolRegistry } from "./ToolRegistry.ts"
import { McpServerSourceLive } from "./ToolRepo.ts"

/** The McpSession entity, reading server definitions from the registry tables and OAuth credentials from theirs. */
export const ToolsEntitiesLive = McpSessionLive.pipe(
  Layer.provide([McpServerSourceLive, McpOAuthCredentials.Default, LanguageModel.Default.pipe(Layer.provide(LlmConfig.layer))])
)

/**
 * `ToolCatalog` (for agents and workflows) and the `ToolRegistry` behind it
 * (for the tools HTTP group and `/mcp`): one registry per process. Built-ins
 * pick up `RagSearch` and `SqlQueryTool` when they are provided below this.
 */
export const ToolsServicesLive = ToolCatalogLive.pipe(Layer.provideMerge(ToolRegistry.Default))
