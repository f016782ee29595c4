import { Data, Schema } from "effect"
import { ProviderName } from "../domain/Provider.ts"

/** Provider-neutral chat model vocabulary: every provider adapter maps to and from these. */

export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  /** The parsed arguments object. */
  arguments: Schema.Unknown
})
export type ToolCall = typeof ToolCall.Type

export const ChatMessage = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system"), content: Schema.String }),
  Schema.Struct({ role: Schema.Literal("user"), content: Schema.String }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.String,
    toolCalls: Schema.Array(ToolCall)
  }),
  Schema.Struct({
    role: Schema.Literal("tool"),
    toolCallId: Schema.String,
    name: Schema.String,
    content: Schema.String,
    isError: Schema.Boolean
  })
)
export type ChatMessage = typeof ChatMessage.Type

export interface ToolDefinition {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments object. */
  readonly parameters: Record<string, unknown>
}

export const Usage = Schema.Struct({ inputTokens: Schema.Int, outputTokens: Schema.Int })
export type Usage = typeof Usage.Type
export const emptyUsage: Usage = { inputTokens: 0, outputTokens: 0 }
export const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens
})

export interface LlmRequest {
  readonly provider: ProviderName
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools?: ReadonlyArray<ToolDefinition>
  readonly maxTokens?: number
  readonly temperature?: number
}

export type FinishReason = "stop" | "tool_calls" | "length" | "error"

/** What a provider's stream yields; tool calls are emitted once their arguments are complete. */
export type LlmEvent =
  | { readonly _tag: "TextDelta"; readonly text: string }
  | { readonly _tag: "ToolCall"; readonly call: ToolCall }
  | { readonly _tag: "Finish"; readonly reason: FinishReason; readonly usage: Usage }

export interface LlmResponse {
  readonly provider: ProviderName
  readonly model: string
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  readonly usage: Usage
}

/** A provider call that failed; `retryable` for 429, 5xx and connection failures. */
export class LlmError extends Data.TaggedError("LlmError")<{
  readonly provider: ProviderName
  readonly message: string
  readonly status?: number
  readonly retryable: boolean
}> {}

export class LlmTimeout extends Data.TaggedError("LlmTimeout")<{
  readonly provider: ProviderName
  readonly timeoutMs: number
}> {
  override get message() {
    return `${this.provider} did not answer within ${this.timeoutMs} ms`
  }
}

export type LlmFailure = LlmError | LlmTimeout

/** Maps an SDK error (each SDK exposes `status` on HTTP errors) to `LlmError`, without its body. */
export const toLlmError = (provider: ProviderName, error: unknown): LlmError => {
  const status = typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
    ? error.status
    : undefined
  const retryable = status === undefined ? true : status === 408 || status === 409 || status === 429 || status >= 500
  const message = status === undefined
    ? `${provider} request failed: ${error instanceof Error ? error.name : "connection error"}`
    : `${provider} answered HTTP ${status}`
  return new LlmError({ provider, message, retryable, ...(status === undefined ? {} : { status }) })
}

/** Arguments arrive as JSON text from most providers; a model may also emit invalid JSON. */
export const parseArguments = (text: string): unknown => {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    return { _raw: text }
  }
}
