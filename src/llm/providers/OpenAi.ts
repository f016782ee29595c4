import { Effect, Option, Redacted } from "effect"
import OpenAI from "openai"
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions"
import type { ProviderSettings } from "../LlmConfig.ts"
import { type FinishReason, type LlmEvent, type LlmRequest, parseArguments, toLlmError } from "../Types.ts"
import { eventsOf, type Provider } from "./Provider.ts"

const toOpenAiMessages = (request: LlmRequest): Array<ChatCompletionMessageParam> =>
  request.messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case "system":
      case "user":
        return { role: m.role, content: m.content }
      case "assistant":
        return m.toolCalls.length === 0
          ? { role: "assistant", content: m.content }
          : {
            role: "assistant",
            content: m.content === "" ? null : m.content,
            tool_calls: m.toolCalls.map((c) => ({
              id: c.id,
              type: "function" as const,
              function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) }
            }))
          }
      case "tool":
        return { role: "tool", tool_call_id: m.toolCallId, content: m.content }
    }
  })

const finishReason = (reason: string | null | undefined): FinishReason =>
  reason === "tool_calls" || reason === "function_call" ? "tool_calls" : reason === "length" ? "length" : "stop"

/**
 * OpenAI Chat Completions, streamed. Any OpenAI-compatible server works by
 * base URL (Ollama, vLLM, llama.cpp); those need no key, so a placeholder is sent.
 */
export const makeOpenAiProvider = (settings: ProviderSettings): Provider => {
  const client = new OpenAI({
    apiKey: Option.match(settings.apiKey, { onNone: () => "not-needed", onSome: Redacted.value }),
    baseURL: Option.getOrUndefined(settings.baseUrl),
    // Retries and timeouts are ours (one policy for every provider).
    maxRetries: 0,
    timeout: 10 * 60_000
  })
  return {
    name: "openai",
    open: (request) =>
      Effect.tryPromise({
        try: (signal) =>
          client.chat.completions.create({
            model: request.model,
            messages: toOpenAiMessages(request),
            stream: true,
            stream_options: { include_usage: true },
            ...(request.tools && request.tools.length > 0
              ? {
                tools: request.tools.map((t) => ({
                  type: "function" as const,
                  function: { name: t.name, description: t.description, parameters: t.parameters }
                }))
              }
              : {}),
            ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
            ...(request.temperature === undefined ? {} : { temperature: request.temperature })
          }, { signal }),
        catch: (e) => toLlmError("openai", e)
      }).pipe(Effect.map((chunks) => {
        // Tool call fragments arrive by index: id and name first, arguments in pieces.
        const pending = new Map<number, { id: string; name: string; args: string }>()
        let reason: FinishReason = "stop"
        let usage = { inputTokens: 0, outputTokens: 0 }
        const onChunk = (chunk: ChatCompletionChunk): Array<LlmEvent> => {
          const out: Array<LlmEvent> = []
          if (chunk.usage) {
            usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens }
          }
          for (const choice of chunk.choices ?? []) {
            const delta = choice.delta
            if (delta?.content) out.push({ _tag: "TextDelta", text: delta.content })
            for (const tc of delta?.tool_calls ?? []) {
              const entry = pending.get(tc.index) ?? { id: "", name: "", args: "" }
              if (tc.id) entry.id = tc.id
              if (tc.function?.name) entry.name += tc.function.name
              if (tc.function?.arguments) entry.args += tc.function.arguments
              pending.set(tc.index, entry)
            }
            if (choice.finish_reason) reason = finishReason(choice.finish_reason)
          }
          return out
        }
        const flush = (): Array<LlmEvent> => {
          const calls: Array<LlmEvent> = [...pending.entries()].sort(([a], [b]) => a - b).map(([i, c]) => ({
            _tag: "ToolCall",
            call: { id: c.id || `call_${i}`, name: c.name, arguments: parseArguments(c.args) }
          }))
          return [...calls, { _tag: "Finish", reason: calls.length > 0 ? "tool_calls" : reason, usage }]
        }
        return { events: eventsOf(chunks, onChunk, flush), toError: (e: unknown) => toLlmError("openai", e) }
      }))
  }
}
