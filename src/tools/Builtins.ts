import { Context, Effect, Layer, Option, Schema } from "effect"
import { RagSearch } from "../rag/RagSearch.ts"
import { SqlQueryInput, SqlQueryTool } from "../sql-tool/SqlQueryTool.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { hostAllowList } from "../net/HostAllowList.ts"
import { httpCall } from "./HttpCall.ts"
import { ToolExecutionFailed, type ToolResult, type ToolSpec, ToolTimeout } from "../domain/Tool.ts"
import { ToolsConfig } from "./ToolsConfig.ts"

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

const httpFetch = (allow: ReadonlyArray<string>, maxBytes: number, egress: EgressPolicy): BuiltinTool => {
  const allowed = hostAllowList(allow)
  return {
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
    run: (projectId, args, timeoutMs) => {
      let url: URL
      try {
        url = new URL(String(args.url))
      } catch {
        return Effect.succeed({ content: [{ type: "text", text: "refused: url is not an absolute URL" }], isError: true })
      }
      const body = typeof args.body === "string" ? args.body : undefined
      return httpCall({
        tool: "http_fetch",
        projectId,
        url: url.toString(),
        method: typeof args.method === "string" ? args.method : "GET",
        headers: (args.headers ?? {}) as Record<string, string>,
        ...(body !== undefined ? { body } : {}),
        timeoutMs,
        maxBytes,
        allow: allowed
      }).pipe(Effect.provideService(EgressPolicy, egress))
    }
  }
}

const json = (value: unknown): ToolResult => ({
  content: [{ type: "text", text: JSON.stringify(value) }],
  structuredContent: value,
  isError: false
})

/** A failure the model can act on (bad query, unknown connection): a tool-level error, not an exception. */
const toolError = (message: string): ToolResult => ({ content: [{ type: "text", text: message }], isError: true })

const ragSearch = (rag: typeof RagSearch.Service): BuiltinTool => ({
  spec: {
    name: "rag_search",
    description: "Search this project's documents; returns the most relevant chunks with their source document.",
    source: "builtin",
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", minLength: 1, maxLength: 4000, description: "What to look for" },
        k: { type: "integer", minimum: 1, maximum: 50, default: 5, description: "How many chunks" },
        mode: { type: "string", enum: ["hybrid", "vector", "text"], default: "hybrid" }
      },
      required: ["query"],
      additionalProperties: false
    }
  },
  run: (projectId, args, timeoutMs) =>
    rag.search({
      projectId,
      query: String(args.query),
      k: typeof args.k === "number" ? args.k : 5,
      ...(args.mode === "hybrid" || args.mode === "vector" || args.mode === "text" ? { mode: args.mode } : {})
    }).pipe(
      Effect.map((result) =>
        json({
          hits: result.hits.map((h) => ({
            documentId: h.documentId,
            filename: h.filename,
            chunkIndex: h.chunkIndex,
            content: h.content,
            score: h.score,
            metadata: h.metadata
          }))
        })
      ),
      Effect.catchTag("RagUnavailable", (e) => Effect.fail(new ToolExecutionFailed({ tool: "rag_search", message: e.message }))),
      Effect.timeoutFail({
        duration: timeoutMs,
        onTimeout: () => new ToolTimeout({ tool: "rag_search", timeoutMs, message: `no answer within ${timeoutMs} ms` })
      })
    )
})

const decodeSqlInput = Schema.decodeUnknownEither(SqlQueryInput)

const sqlQuery = (tool: typeof SqlQueryTool.Service): BuiltinTool => ({
  spec: tool.spec,
  run: (projectId, args, timeoutMs) => {
    const input = decodeSqlInput(args)
    if (input._tag === "Left") return Effect.succeed(toolError("invalid sql_query arguments"))
    return tool.query(projectId, input.right).pipe(
      Effect.map((r) => json({ columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated })),
      Effect.catchAll((e): Effect.Effect<ToolResult, ToolExecutionFailed | ToolTimeout> => {
        switch (e._tag) {
          case "ServiceUnavailable":
            return Effect.fail(new ToolExecutionFailed({ tool: "sql_query", message: e.message }))
          case "GatewayTimeout":
            return Effect.fail(new ToolTimeout({ tool: "sql_query", timeoutMs, message: e.message }))
          default:
            return Effect.succeed(toolError(`${e._tag}: ${e.message}`))
        }
      }),
      Effect.timeoutFail({
        duration: timeoutMs,
        onTimeout: () => new ToolTimeout({ tool: "sql_query", timeoutMs, message: `no answer within ${timeoutMs} ms` })
      })
    )
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
    const tools = yield* ToolsConfig
    const all: Array<BuiltinTool> = [httpFetch(tools.httpFetchAllow, tools.httpMaxResponseBytes, yield* EgressPolicy)]
    const rag = yield* Effect.serviceOption(RagSearch)
    if (Option.isSome(rag)) all.push(ragSearch(rag.value))
    const sql = yield* Effect.serviceOption(SqlQueryTool)
    if (Option.isSome(sql)) all.push(sqlQuery(sql.value))
    return new Map(all.map((t) => [t.spec.name, t] as const))
  })
)
