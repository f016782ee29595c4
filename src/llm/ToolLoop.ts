import { Effect } from "effect"
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

export type DoneEvent = Extract<LoopEvent, { readonly _tag: "Done" }>

/**
 * The agent loop: ask the model; if it calls tools, run them (concurrently),
 * append their results and ask again; stop on a plain answer or after
 * `maxSteps` model calls (the last answer is then returned as is). Every event
 * (text, tool activity, the final `Done`) goes to `onEvent` as it happens; the
 * loop succeeds with the `Done`.
 *
 * A loop of Effects, not a Stream: see providers/Provider.ts (issue #19).
 */
export const runToolLoop = <E = never, R = never>(
  llm: LanguageModel,
  options: ToolLoopOptions,
  onEvent: (event: LoopEvent) => Effect.Effect<void, E, R> = () => Effect.void
): Effect.Effect<DoneEvent, LlmFailure | E, R> =>
  Effect.gen(function*() {
    const produced: Array<ChatMessage> = []
    let messages = options.request.messages
    let usage = emptyUsage
    for (let n = 1;; n++) {
      const turn = { text: "", calls: [] as Array<ToolCall>, reason: "stop" as FinishReason, usage: emptyUsage }
      yield* llm.respond({ ...options.request, messages }, (e): Effect.Effect<void, E, R> => {
        switch (e._tag) {
          case "TextDelta":
            turn.text += e.text
            return onEvent({ _tag: "TextDelta", text: e.text, step: n })
          case "ToolCall":
            turn.calls.push(e.call)
            return onEvent({ _tag: "ToolCallStarted", call: e.call, step: n })
          case "Finish":
            turn.reason = e.reason
            turn.usage = e.usage
            return Effect.void
        }
      })
      usage = addUsage(usage, turn.usage)
      const assistant: ChatMessage = { role: "assistant", content: turn.text, toolCalls: turn.calls }
      produced.push(assistant)
      if (turn.calls.length === 0 || n >= options.maxSteps) {
        const done: DoneEvent = {
          _tag: "Done",
          text: turn.text,
          messages: [...produced],
          usage,
          steps: n,
          finishReason: turn.calls.length === 0 ? turn.reason : "max_steps"
        }
        yield* onEvent(done)
        return done
      }
      // Each finished call is reported at once; the model gets the results in the order it asked.
      const outcomes = yield* Effect.forEach(
        turn.calls,
        (call) => Effect.tap(options.callTool(call), (outcome) => onEvent({ _tag: "ToolCallFinished", call, outcome, step: n })),
        { concurrency: options.toolConcurrency ?? 4 }
      )
      const toolMessages = turn.calls.map((call, i): ChatMessage => ({ role: "tool", toolCallId: call.id, name: call.name, ...outcomes[i] }))
      produced.push(...toolMessages)
      messages = [...messages, assistant, ...toolMessages]
    }
  })
