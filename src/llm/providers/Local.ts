import { Effect } from "effect"
import { type ChatMessage, LlmError, type LlmEvent, type LlmRequest, type ToolCall, type ToolDefinition } from "../Types.ts"
import type { Provider } from "./Provider.ts"

export const LOCAL_PREFIX = "[local fallback model]"

const approxTokens = (text: string) => Math.ceil(text.length / 4)

const firstJsonObject = (text: string): unknown => {
  const start = text.indexOf("{")
  const end = text.lastIndexOf("}")
  if (start < 0 || end <= start) return {}
  try {
    return JSON.parse(text.slice(start, end + 1))
  } catch {
    return {}
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Keyword rules that map a plain request onto one of the agent's tools, so the
 * offline model exercises the tool loop without its caller knowing tool names.
 * Deliberately narrow: a request matching none of them is echoed.
 */
const RULES: ReadonlyArray<{ readonly request: RegExp; readonly tool: (name: string) => boolean }> = [
  // "search the docs for X", "look up X in the knowledge base", "what do our documents say about X"
  {
    request: /\b(search|look up|look for)\b|\b(docs|documents|documentation|knowledge base)\b.*\b(say|says|about|mention)\b/i,
    tool: (name) => name === "rag_search" || /search/.test(name)
  },
  // "fetch https://...", "what is on https://..."
  { request: /https?:\/\/\S+/i, tool: (name) => name === "http_fetch" || /fetch|http/.test(name) },
  // "what time is it", "current date"
  { request: /\bwhat time\b|\btime is it\b|\bcurrent (time|date)\b|\btoday'?s date\b/i, tool: (name) => /time|clock|date|now/.test(name) }
]

const intended = (tools: ReadonlyArray<ToolDefinition>, text: string): ToolDefinition | undefined => {
  for (const rule of RULES) {
    if (!rule.request.test(text)) continue
    const tool = tools.find((t) => rule.tool(t.name))
    if (tool) return tool
  }
  return undefined
}

/** The subject of a request: "search the docs for refunds?" -> "refunds". */
const subjectOf = (text: string) => {
  const trimmed = text.trim().replace(/[?.!]+$/, "")
  const after = /\b(?:search|look up|look for|find)\b(?:\s+(?:in\s+)?(?:the|my|our|this project's))?(?:\s+(?:docs|documents|documentation|knowledge base|knowledge))?(?:\s+(?:for|about|on))?\s+(.+)$/i
    .exec(trimmed)
  return (after?.[1] ?? trimmed).trim()
}

/** Arguments from the request's words: a URL for a `url` parameter, the subject for the one required text parameter. */
const argumentsFrom = (tool: ToolDefinition, text: string): Record<string, unknown> => {
  const properties = (tool.parameters.properties ?? {}) as Record<string, { readonly type?: unknown }>
  const required = Array.isArray(tool.parameters.required) ? (tool.parameters.required as Array<string>) : []
  const url = /https?:\/\/[^\s"'<>]+/i.exec(text)?.[0]
  if ("url" in properties && url !== undefined) return { url: url.replace(/[).,;]+$/, "") }
  const textual = required.find((name) => properties[name]?.type === "string") ??
    Object.keys(properties).find((name) => properties[name]?.type === "string")
  return textual === undefined ? {} : { [textual]: subjectOf(text) }
}

/** Deterministic reply: no network, no weights, and it says what it is. */
const reply = (request: LlmRequest): { text: string; calls: Array<ToolCall> } => {
  const last = request.messages[request.messages.length - 1] as ChatMessage | undefined
  if (last?.role === "tool") {
    const results: Array<string> = []
    for (let i = request.messages.length - 1; i >= 0; i--) {
      const m = request.messages[i]
      if (m.role !== "tool") break
      results.unshift(`${m.name}${m.isError ? " failed" : " returned"}: ${m.content}`)
    }
    return { text: `${LOCAL_PREFIX} Tool results: ${results.join("; ")}`, calls: [] }
  }
  const userText = last?.role === "user" ? last.content : ""
  const tools = request.tools ?? []
  // A prompt that names an available tool gets a call to it, arguments from the first JSON object;
  // otherwise a plain request that one of the keyword rules recognises (see `intended`).
  const named = [...tools]
    .sort((a, b) => b.name.length - a.name.length)
    .find((t) => new RegExp(`(^|[^\\w-])${escapeRegExp(t.name)}($|[^\\w-])`).test(userText))
  const tool = named ?? intended(tools, userText)
  if (tool) {
    const json = firstJsonObject(userText)
    return {
      text: `${LOCAL_PREFIX} Calling tool ${tool.name}.`,
      calls: [{
        id: `local_call_${request.messages.length}`,
        name: tool.name,
        arguments: named !== undefined || Object.keys(json as object).length > 0 ? json : argumentsFrom(tool, userText)
      }]
    }
  }
  const requested = request.provider === "local" ? "" : ` (requested ${request.provider}/${request.model}, not configured)`
  return {
    text: `${LOCAL_PREFIX} This reply comes from the offline local fallback, not a real language model${requested}. ` +
      `You said: ${userText}`,
    calls: []
  }
}

/**
 * The offline provider: lets `bun run dev` and the tool loop work with no
 * keys. Streams its reply word by word like a real model.
 */
export const localProvider: Provider = {
  name: "local",
  inProcess: true,
  open: (request) =>
    Effect.sync(() => {
      const { calls, text } = reply(request)
      const words = text.split(/(?<= )/)
      const inputTokens = request.messages.reduce((n, m) => n + approxTokens(m.content), 0)
      const events: Array<LlmEvent> = [
        ...words.map((w): LlmEvent => ({ _tag: "TextDelta", text: w })),
        ...calls.map((call): LlmEvent => ({ _tag: "ToolCall", call })),
        {
          _tag: "Finish",
          reason: calls.length > 0 ? "tool_calls" : "stop",
          usage: { inputTokens, outputTokens: approxTokens(text) }
        }
      ]
      return { events, toError: (e) => new LlmError({ provider: "local", message: String(e), retryable: false }) }
    })
}
