import {
  type Content,
  type EnhancedGenerateContentResponse,
  type FunctionDeclarationSchema,
  GoogleGenerativeAI
} from "@google/generative-ai"
import { Effect, Option, Redacted } from "effect"
import type { ProviderSettings } from "../LlmConfig.ts"
import { type FinishReason, type LlmEvent, type LlmRequest, toLlmError } from "../Types.ts"
import { eventsOf, type Provider } from "./Provider.ts"

/** Gemini accepts an OpenAPI subset of JSON Schema: drop the keywords it rejects. */
const toGeminiSchema = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(toGeminiSchema)
  if (typeof schema !== "object" || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$schema" || k === "additionalProperties" || k === "$id") continue
    out[k] = toGeminiSchema(v)
  }
  return out
}

const toGemini = (request: LlmRequest) => {
  const system = request.messages.flatMap((m) => (m.role === "system" ? [m.content] : [])).join("\n\n")
  const contents: Array<Content> = []
  for (const m of request.messages) {
    switch (m.role) {
      case "system":
        break
      case "user":
        contents.push({ role: "user", parts: [{ text: m.content }] })
        break
      case "assistant":
        contents.push({
          role: "model",
          parts: [
            ...(m.content === "" ? [] : [{ text: m.content }]),
            ...m.toolCalls.map((c) => ({ functionCall: { name: c.name, args: (c.arguments ?? {}) as object } }))
          ]
        })
        break
      case "tool": {
        const part = { functionResponse: { name: m.name, response: { content: m.content, isError: m.isError } } }
        const last = contents[contents.length - 1]
        if (last && last.role === "function") last.parts.push(part)
        else contents.push({ role: "function", parts: [part] })
        break
      }
    }
  }
  return { system, contents }
}

const finishReason = (reason: string | undefined): FinishReason =>
  reason === "MAX_TOKENS" ? "length" : "stop"

/** Google Gemini via `@google/generative-ai` (SSE streaming: `streamGenerateContent?alt=sse`). */
export const makeGoogleProvider = (settings: ProviderSettings): Provider => {
  const genAI = new GoogleGenerativeAI(Option.match(settings.apiKey, { onNone: () => "not-set", onSome: Redacted.value }))
  const baseUrl = Option.getOrUndefined(settings.baseUrl)
  return {
    name: "google",
    open: (request) => {
      const { contents, system } = toGemini(request)
      const model = genAI.getGenerativeModel(
        {
          model: request.model,
          ...(system === "" ? {} : { systemInstruction: system }),
          ...(request.tools && request.tools.length > 0
            ? {
              tools: [{
                functionDeclarations: request.tools.map((t) => ({
                  name: t.name,
                  description: t.description,
                  parameters: toGeminiSchema(t.parameters) as FunctionDeclarationSchema
                }))
              }]
            }
            : {}),
          generationConfig: {
            ...(request.maxTokens === undefined ? {} : { maxOutputTokens: request.maxTokens }),
            ...(request.temperature === undefined ? {} : { temperature: request.temperature })
          }
        },
        baseUrl === undefined ? {} : { baseUrl }
      )
      return Effect.tryPromise({
        try: (signal) => model.generateContentStream({ contents }, { signal }),
        catch: (e) => toLlmError("google", e)
      }).pipe(Effect.map((result) => {
        // The aggregated `response` promise rejects with the stream; the stream reports it.
        result.response.catch(() => undefined)
        let usage = { inputTokens: 0, outputTokens: 0 }
        let reason: FinishReason = "stop"
        let calls = 0
        const onChunk = (chunk: EnhancedGenerateContentResponse): Array<LlmEvent> => {
          const out: Array<LlmEvent> = []
          if (chunk.usageMetadata) {
            usage = {
              inputTokens: chunk.usageMetadata.promptTokenCount ?? 0,
              outputTokens: chunk.usageMetadata.candidatesTokenCount ?? 0
            }
          }
          const candidate = chunk.candidates?.[0]
          for (const part of candidate?.content?.parts ?? []) {
            if (part.text) out.push({ _tag: "TextDelta", text: part.text })
            if (part.functionCall) {
              // Gemini has no call ids: number them so results can be matched.
              out.push({
                _tag: "ToolCall",
                call: { id: `gemini_call_${calls++}`, name: part.functionCall.name, arguments: part.functionCall.args ?? {} }
              })
            }
          }
          if (candidate?.finishReason) reason = finishReason(candidate.finishReason)
          return out
        }
        return {
          events: eventsOf(result.stream, onChunk, (): Array<LlmEvent> => [{ _tag: "Finish", reason: calls > 0 ? "tool_calls" : reason, usage }]),
          toError: (e: unknown) => toLlmError("google", e)
        }
      }))
    }
  }
}
