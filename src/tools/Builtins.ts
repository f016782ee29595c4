import { Context, Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { httpCall, isAllowedUrl } from "./HttpCall.ts"
import type { ToolExecutionFailed, ToolResult, ToolSpec, ToolTimeout } from "./ToolCatalog.ts"

/** A tool implemented by the platform itself; arguments arrive validated against `spec.inputSchema`. */
export interface BuiltinTool {
  readonly spec: ToolSpec
  readonly run: (
    projectId: string,
    args: Record<string, unknown>,
    timeoutMs: number
  ) => Effect.Effect<ToolResult, ToolExecutionFailed | ToolTimeout>
}

/** The built-in tools of this process, by name. */
export class BuiltinTools extends Context.Tag("Tools/BuiltinTools")<BuiltinTools, ReadonlyMap<string, BuiltinTool>>() {}

const httpFetch = (allow: ReadonlyArray<string>, maxBytes: number): BuiltinTool => ({
  spec: {
    name: "http_fetch",
    description: allow.length === 0
      ? "Fetch a URL over HTTP(S). No host is allowed on this platform yet (TOOLS_HTTP_FETCH_ALLOW)."
      : `Fetch a URL over HTTP(S) and return the body as text. Allowed hosts: ${allow.join(", ")}.`,
    source: "builtin",
    inputSchema: {
      type: "object",
      properties: {
        url: { type: "string", description: "Absolute http(s) URL" },
        method: { type: "string", enum: ["GET", "POST", "HEAD"], default: "GET" },
        headers: { type: "object", additionalProperties: { type: "string" } },
        body: { type: "string", description: "Request body (POST)" }
      },
      required: ["url"],
      additionalProperties: false
    }
  },
  run: (_projectId, args, timeoutMs) => {
    let url: URL
    try {
      url = new URL(String(args.url))
    } catch {
      return Effect.succeed({ content: [{ type: "text", text: "refused: url is not an absolute URL" }], isError: true })
    }
    const body = typeof args.body === "string" ? args.body : undefined
    return httpCall({
      tool: "http_fetch",
      url: url.toString(),
      method: typeof args.method === "string" ? args.method : "GET",
      headers: (args.headers ?? {}) as Record<string, string>,
      ...(body !== undefined ? { body } : {}),
      timeoutMs,
      maxBytes,
      allow: (u) => isAllowedUrl(allow, u)
    })
  }
})

/**
 * http_fetch always; rag_search and sql_query join when their services are
 * part of the process (they are looked up optionally, so the Tools service
 * runs without them).
 */
export const BuiltinToolsLive = Layer.effect(
  BuiltinTools,
  Effect.gen(function*() {
    const { tools } = yield* AppConfig
    const all: Array<BuiltinTool> = [httpFetch(tools.httpFetchAllow, tools.httpMaxResponseBytes)]
    return new Map(all.map((t) => [t.spec.name, t] as const))
  })
)
