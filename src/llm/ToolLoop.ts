import { Effect, Stream } from "effect"
import type { LanguageModel } from "./LanguageModel.ts"
import {
  addUsage,
  type ChatMessage,
  emptyUsage,
  type FinishReason,
  type LlmFailure,
  type LlmRequest,
  type ToolCall,
  type Usage
} from "./Types.ts"

export interface ToolOutcome {
  readonly content: string
  readonly isError: boolean
}

/** What a run streams: model text, tool activity, and one `Done` at the end. */
export type LoopEvent =
  | { readonly _tag: "TextDelta"; readonly text: string; readonly step: number }
  | { readonly _tag: "ToolCallStarted"; readonly call: ToolCall; readonly step: number }
  | { readonly _tag: "ToolCallFinished"; readonly call: ToolCall; readonly outcome: ToolOutcome; readonly step: number }
  | {
    readonly _tag: "Done"
    readonly text: string
    /** Messages produced by this run (assistant turns and tool results), in order. */
    readonly messages: ReadonlyArray<ChatMessage>
    readonly usage: Usage
    readonly steps: number
    readonly finishReason: FinishReason | "max_steps"
  }

export interface ToolLoopOptions {
  readonly request: LlmRequest
  readonly maxSteps: number
  /** Never fails: a tool error is a result the model gets to see. */
  readonly callTool: (call: ToolCall) => Effect.Effect<ToolOutcome>
  readonly toolConcurrency?: number
}

/**
 * The agent loop: ask the model; if it calls tools, run them (concurrently),
 * append their results and ask again; stop on a plain answer or after
 * `maxSteps` model calls (the last answer is then returned as is).
 */
export const runToolLoop = (
  llm: LanguageModel,
  options: ToolLoopOptions
): Stream.Stream<LoopEvent, LlmFailure> => {
  const produced: Array<ChatMessage> = []
  const step = (messages: ReadonlyArray<ChatMessage>, n: number, usage: Usage): Stream.Stream<LoopEvent, LlmFailure> =>
    Stream.suspend(() => {
      const turn = { text: "", calls: [] as Array<ToolCall>, reason: "stop" as FinishReason, usage: emptyUsage }
      const modelEvents = llm.stream({ ...options.request, messages }).pipe(
        Stream.mapConcat((e): Array<LoopEvent> => {
          switch (e._tag) {
            case "TextDelta":
              turn.text += e.text
              return [{ _tag: "TextDelta", text: e.text, step: n }]
            case "ToolCall":
              turn.calls.push(e.call)
              return [{ _tag: "ToolCallStarted", call: e.call, step: n }]
            case "Finish":
              turn.reason = e.reason
              turn.usage = e.usage
              return []
          }
        })
      )
      const next = Stream.suspend((): Stream.Stream<LoopEvent, LlmFailure> => {
        const total = addUsage(usage, turn.usage)
        const assistant: ChatMessage = { role: "assistant", content: turn.text, toolCalls: turn.calls }
        produced.push(assistant)
        if (turn.calls.length === 0 || n >= options.maxSteps) {
          return Stream.succeed({
            _tag: "Done",
            text: turn.text,
            messages: [...produced],
            usage: total,
            steps: n,
            finishReason: turn.calls.length === 0 ? turn.reason : "max_steps"
          })
        }
        const results = Stream.fromIterable(turn.calls).pipe(
          Stream.mapEffect(
            (call) =>
              options.callTool(call).pipe(
                Effect.map((outcome): LoopEvent => ({ _tag: "ToolCallFinished", call, outcome, step: n }))
              ),
            { concurrency: options.toolConcurrency ?? 4 }
          )
        )
        const toolMessages: Array<ChatMessage> = []
        return results.pipe(
          Stream.tap((e) =>
            Effect.sync(() => {
              if (e._tag === "ToolCallFinished") {
                toolMessages.push({ role: "tool", toolCallId: e.call.id, name: e.call.name, ...e.outcome })
              }
            })
          ),
          Stream.concat(Stream.suspend(() => {
            produced.push(...toolMessages)
            return step([...messages, assistant, ...toolMessages], n + 1, total)
          }))
        )
      })
      return Stream.concat(modelEvents, next)
    })
  return step(options.request.messages, 1, emptyUsage)
}
