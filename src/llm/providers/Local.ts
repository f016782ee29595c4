import { Effect, Stream } from "effect"
import type { ChatMessage, LlmEvent, LlmRequest, ToolCall } from "../Types.ts"
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
  // A prompt that names an available tool gets a call to it, arguments from the first JSON object.
  const tool = [...(request.tools ?? [])]
    .sort((a, b) => b.name.length - a.name.length)
    .find((t) => new RegExp(`(^|[^\\w-])${escapeRegExp(t.name)}($|[^\\w-])`).test(userText))
  if (tool) {
    return {
      text: `${LOCAL_PREFIX} Calling tool ${tool.name}.`,
      calls: [{ id: `local_call_${request.messages.length}`, name: tool.name, arguments: firstJsonObject(userText) }]
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
  open: (request) =>
    Effect.sync(() => {
      const { calls, text } = reply(request)
      const words = text.split(/(?<= )/)
      const inputTokens = request.messages.reduce((n, m) => n + approxTokens(m.content), 0)
      return Stream.fromIterable<LlmEvent>([
        ...words.map((w): LlmEvent => ({ _tag: "TextDelta", text: w })),
        ...calls.map((call): LlmEvent => ({ _tag: "ToolCall", call })),
        {
          _tag: "Finish",
          reason: calls.length > 0 ? "tool_calls" : "stop",
          usage: { inputTokens, outputTokens: approxTokens(text) }
        }
      ])
    })
}
