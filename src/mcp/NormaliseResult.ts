import type { ToolContent, ToolResult } from "../domain/Tool.ts"

type McpContent = { readonly type: string; readonly [key: string]: unknown }

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

/**
 * MCP content blocks → the platform's `ToolContent`. Audio has no slot in
 * the contract (no model consumer takes it yet): it becomes a text note so
 * the caller still learns something came back.
 */
const toContent = (block: McpContent): ToolContent => {
  switch (block.type) {
    case "text":
      return { type: "text", text: str(block.text) ?? "" }
    case "image":
      return { type: "image", data: str(block.data) ?? "", mimeType: str(block.mimeType) ?? "application/octet-stream" }
    case "resource_link":
      return {
        type: "resource_link",
        uri: str(block.uri) ?? "",
        ...(str(block.name) !== undefined ? { name: str(block.name) } : {}),
        ...(str(block.mimeType) !== undefined ? { mimeType: str(block.mimeType) } : {})
      }
    case "resource": {
      const resource = (block.resource ?? {}) as Record<string, unknown>
      const text = str(resource.text)
      const mimeType = str(resource.mimeType)
      return {
        type: "resource",
        uri: str(resource.uri) ?? "",
        ...(text !== undefined ? { text } : {}),
        ...(mimeType !== undefined ? { mimeType } : {})
      }
    }
    case "audio":
      return { type: "text", text: `[audio ${str(block.mimeType) ?? "unknown type"}, ${(str(block.data) ?? "").length} base64 chars]` }
    default:
      return { type: "text", text: `[unsupported content type ${block.type}]` }
  }
}

/** A `tools/call` result (current or the legacy `toolResult` shape) → `ToolResult`. */
export const normaliseCallResult = (result: Record<string, unknown>): ToolResult => {
  if (Array.isArray(result.content)) {
    return {
      content: (result.content as ReadonlyArray<McpContent>).map(toContent),
      ...(result.structuredContent !== undefined ? { structuredContent: result.structuredContent } : {}),
      isError: result.isError === true
    }
  }
  // Protocol 2024-10-07 servers answer `{ toolResult }`.
  const legacy = result.toolResult
  return {
    content: [{ type: "text", text: typeof legacy === "string" ? legacy : JSON.stringify(legacy ?? null) }],
    ...(legacy !== undefined && typeof legacy === "object" ? { structuredContent: legacy } : {}),
    isError: false
  }
}
