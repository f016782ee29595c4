import { Duration, Effect, Schedule } from "effect"
import { configured, LlmConfig } from "./LlmConfig.ts"
import { localProvider } from "./providers/Local.ts"
import type { Provider, ProviderAnswer } from "./providers/Provider.ts"
import { emptyUsage, type LlmEvent, type LlmFailure, type LlmRequest, type LlmResponse, LlmTimeout, type ToolCall } from "./Types.ts"
import { type ProviderName } from "../domain/Provider.ts"

/**
 * The one way the platform talks to language models. Every provider gets the
 * same policy: retries with exponential backoff (jittered) on 429 / 5xx /
 * connection errors before the first byte, a timeout on the answer and
 * between streamed chunks, and a span with OTel GenAI attributes.
 */
export class LanguageModel extends Effect.Service<LanguageModel>()("Llm/LanguageModel", {
  effect: Effect.gen(function*() {
    const config = yield* LlmConfig
    const providers: Partial<Record<ProviderName, Provider>> = { local: localProvider }
    // Each SDK is loaded only when its provider is configured: together they are MBs of idle memory.
    if (configured(config.openai)) {
      const { makeOpenAiProvider } = yield* Effect.promise(() => import("./providers/OpenAi.ts"))
      providers.openai = makeOpenAiProvider(config.openai)
    }
    if (configured(config.anthropic)) {
      const { makeAnthropicProvider } = yield* Effect.promise(() => import("./providers/Anthropic.ts"))
      providers.anthropic = makeAnthropicProvider(config.anthropic)
    }
    if (configured(config.google)) {
      const { makeGoogleProvider } = yield* Effect.promise(() => import("./providers/Google.ts"))
      providers.google = makeGoogleProvider(config.google)
    }

    /** The provider that will answer: the requested one, or the local fallback when it has no settings. */
    const resolve = (name: ProviderName): Provider => providers[name] ?? localProvider

    const retryPolicy = Schedule.exponential(Duration.millis(config.retryBaseDelayMs)).pipe(Schedule.jittered)
    const timeout = Duration.millis(config.timeoutMs)
    const timedOut = (provider: ProviderName) => () => new LlmTimeout({ provider, timeoutMs: config.timeoutMs })

    /** The provider's answer once it accepted the request: retried, timed out and traced as one call. */
    const open = (request: LlmRequest): Effect.Effect<{ readonly provider: Provider; readonly answer: ProviderAnswer }, LlmFailure> => {
      const provider = resolve(request.provider)
      // The in-process model answers synchronously: no call to time out or retry (the timer
      // fiber and the retry driver were ~70 of the ~100 runtime steps of opening it).
      const guarded = provider.inProcess === true ? provider.open(request) : provider.open(request).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(provider.name) }),
        Effect.retry({
          schedule: retryPolicy,
          times: config.maxRetries,
          while: (e) => e._tag === "LlmError" && e.retryable
        })
      )
      return guarded.pipe(
        Effect.tapError((e) => Effect.logWarning("llm call failed").pipe(Effect.annotateLogs({ provider: provider.name, error: e.message }))),
        Effect.withSpan("LanguageModel.open", {
          attributes: {
            "gen_ai.system": provider.name,
            "gen_ai.request.model": request.model,
            "gen_ai.operation.name": "chat"
          }
        }),
        Effect.map((answer) => ({ provider, answer }))
      )
    }

    /**
     * One model call, its events handed to `onEvent` in order as they arrive; the
     * timeout also applies between two events of a streamed answer. A streamed
     * answer is closed (its HTTP body released) however the call ends.
     */
    const respond = <E, R>(request: LlmRequest, onEvent: (event: LlmEvent) => Effect.Effect<void, E, R>): Effect.Effect<void, LlmFailure | E, R> =>
      Effect.flatMap(open(request), ({ answer, provider }) => {
        const events = answer.events
        if (!(Symbol.asyncIterator in events)) return Effect.forEach(events, onEvent, { discard: true })
        return Effect.suspend(() => {
          const iterator = events[Symbol.asyncIterator]()
          const next = Effect.tryPromise({ try: () => iterator.next(), catch: answer.toError }).pipe(
            Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(provider.name) })
          )
          return Effect.gen(function*() {
            while (true) {
              const item = yield* next
              if (item.done) return
              yield* onEvent(item.value)
            }
          }).pipe(Effect.ensuring(Effect.sync(() => {
            // Not awaited: closing an SDK stream aborts its request; nothing to wait for.
            iterator.return?.().catch(() => undefined)
          })))
        })
      })

    const generate = (request: LlmRequest): Effect.Effect<LlmResponse, LlmFailure> =>
      Effect.suspend(() => {
        const acc = { text: "", toolCalls: [] as Array<ToolCall>, finishReason: "stop" as LlmResponse["finishReason"], usage: emptyUsage }
        return respond(request, (e) =>
          Effect.sync(() => {
            switch (e._tag) {
              case "TextDelta":
                acc.text += e.text
                return
              case "ToolCall":
                acc.toolCalls.push(e.call)
                return
              case "Finish":
                acc.finishReason = e.reason
                acc.usage = e.usage
            }
          })).pipe(Effect.as(acc))
      }).pipe(
        Effect.map((acc): LlmResponse => ({ provider: resolve(request.provider).name, model: request.model, ...acc })),
        Effect.tap((r) =>
          Effect.annotateCurrentSpan({
            "gen_ai.usage.input_tokens": r.usage.inputTokens,
            "gen_ai.usage.output_tokens": r.usage.outputTokens
          })
        ),
        Effect.withSpan("LanguageModel.generate", {
          attributes: { "gen_ai.system": request.provider, "gen_ai.request.model": request.model }
        })
      )

    return {
      respond,
      generate,
      /** Which provider actually answers for `name` (the local fallback when unconfigured). */
      effectiveProvider: (name: ProviderName): ProviderName => resolve(name).name,
      maxSteps: config.maxSteps
    } as const
  })
}) {}
