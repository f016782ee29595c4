import Anthropic from "@anthropic-ai/sdk"
import type { MessageParam, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages/messages"
import { Effect, Option, Redacted } from "effect"
import type { ProviderSettings } from "../LlmConfig.ts"
import { type FinishReason, type LlmEvent, type LlmRequest, parseArguments, toLlmError } from "../Types.ts"
import { eventsOf, type Provider } from "./Provider.ts"

/** Anthropic keeps the system prompt apart and sends tool results as user content blocks. */
const toAnthropic = (request: LlmRequest) => {
  const system = request.messages.flatMap((m) => (m.role === "system" ? [m.content] : [])).join("\n\n")
  const messages: Array<MessageParam> = []
  for (const m of request.messages) {
    switch (m.role) {
      case "system":
        break
      case "user":
        messages.push({ role: "user", content: m.content })
        break
      case "assistant":
        messages.push({
          role: "assistant",
          content: [
            ...(m.content === "" ? [] : [{ type: "text" as const, text: m.content }]),
            ...m.toolCalls.map((c) => ({
              type: "tool_use" as const,
              id: c.id,
              name: c.name,
              input: (c.arguments ?? {}) as Record<string, unknown>
            }))
          ]
        })
        break
      case "tool": {
        const block = { type: "tool_result" as const, tool_use_id: m.toolCallId, content: m.content, is_error: m.isError }
        // Consecutive tool results belong in one user turn.
        const last = messages[messages.length - 1]
        if (last && last.role === "user" && Array.isArray(last.content)) last.content.push(block)
        else messages.push({ role: "user", content: [block] })
        break
      }
    }
  }
  return { system, messages }
}

const finishReason = (reason: string | null | undefined): FinishReason =>
  reason === "tool_use" ? "tool_calls" : reason === "max_tokens" ? "length" : "stop"

export const makeAnthropicProvider = (settings: ProviderSettings): Provider => {
  const client = new Anthropic({
    apiKey: Option.match(settings.apiKey, { onNone: () => "not-set", onSome: Redacted.value }),
    baseURL: Option.getOrUndefined(settings.baseUrl),
    maxRetries: 0,
    timeout: 10 * 60_000
  })
  return {
    name: "anthropic",
    open: (request) => {
      const { messages, system } = toAnthropic(request)
      return Effect.tryPromise({
        try: (signal) =>
          client.messages.create({
            model: request.model,
            max_tokens: request.maxTokens ?? 4096,
            messages,
            stream: true,
            ...(system === "" ? {} : { system }),
            ...(request.tools && request.tools.length > 0
              ? {
                tools: request.tools.map((t) => ({
                  name: t.name,
                  description: t.description,
                  input_schema: { type: "object" as const, ...t.parameters }
                }))
              }
              : {}),
            ...(request.temperature === undefined ? {} : { temperature: request.temperature })
          }, { signal }),
        catch: (e) => toLlmError("anthropic", e)
      }).pipe(Effect.map((events) => {
        const blocks = new Map<number, { id: string; name: string; json: string }>()
        let inputTokens = 0
        let outputTokens = 0
        let reason: FinishReason = "stop"
        const onEvent = (event: RawMessageStreamEvent): Array<LlmEvent> => {
          switch (event.type) {
            case "message_start":
              inputTokens = event.message.usage.input_tokens
              outputTokens = event.message.usage.output_tokens
              return []
            case "content_block_start":
              if (event.content_block.type === "tool_use") {
                blocks.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: "" })
              }
              return []
            case "content_block_delta":
              if (event.delta.type === "text_delta") return [{ _tag: "TextDelta", text: event.delta.text }]
              if (event.delta.type === "input_json_delta") {
                const block = blocks.get(event.index)
                if (block) block.json += event.delta.partial_json
              }
              return []
            case "content_block_stop": {
              const block = blocks.get(event.index)
              if (!block) return []
              blocks.delete(event.index)
              return [{ _tag: "ToolCall", call: { id: block.id, name: block.name, arguments: parseArguments(block.json) } }]
            }
            case "message_delta":
              reason = finishReason(event.delta.stop_reason)
              outputTokens = event.usage.output_tokens
              return []
            case "message_stop":
              return [{ _tag: "Finish", reason, usage: { inputTokens, outputTokens } }]
          }
        }
        return { events: eventsOf(events, onEvent), toError: (e: unknown) => toLlmError("anthropic", e) }
      }))
    }
  }
}
