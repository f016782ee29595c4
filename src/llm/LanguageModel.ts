import { Duration, Effect, Schedule, Stream } from "effect"
import { configured, LlmConfig } from "./LlmConfig.ts"
import { localProvider } from "./providers/Local.ts"
import type { Provider } from "./providers/Provider.ts"
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

    const stream = (request: LlmRequest): Stream.Stream<LlmEvent, LlmFailure> => {
      const provider = resolve(request.provider)
      const open = provider.open(request).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => new LlmTimeout({ provider: provider.name, timeoutMs: config.timeoutMs }) }),
        Effect.retry({
          schedule: retryPolicy,
          times: config.maxRetries,
          while: (e) => e._tag === "LlmError" && e.retryable
        }),
        Effect.tapError((e) => Effect.logWarning("llm call failed").pipe(Effect.annotateLogs({ provider: provider.name, error: e.message }))),
        Effect.withSpan("LanguageModel.open", {
          attributes: {
            "gen_ai.system": provider.name,
            "gen_ai.request.model": request.model,
            "gen_ai.operation.name": "chat"
          }
        })
      )
      return Stream.unwrap(open).pipe(
        Stream.timeoutFail(() => new LlmTimeout({ provider: provider.name, timeoutMs: config.timeoutMs }), timeout)
      )
    }

    const generate = (request: LlmRequest): Effect.Effect<LlmResponse, LlmFailure> =>
      Stream.runFold(
        stream(request),
        { text: "", toolCalls: [] as Array<ToolCall>, finishReason: "stop" as LlmResponse["finishReason"], usage: emptyUsage },
        (acc, e) => {
          switch (e._tag) {
            case "TextDelta":
              acc.text += e.text
              return acc
            case "ToolCall":
              acc.toolCalls.push(e.call)
              return acc
            case "Finish":
              return { ...acc, finishReason: e.reason, usage: e.usage }
          }
        }
      ).pipe(
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
      stream,
      generate,
      /** Which provider actually answers for `name` (the local fallback when unconfigured). */
      effectiveProvider: (name: ProviderName): ProviderName => resolve(name).name,
      maxSteps: config.maxSteps
    } as const
  })
}) {}
