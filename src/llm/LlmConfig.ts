import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Values from "../config/Values.ts"

export interface ProviderSettings {
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** OpenAI-compatible servers (Ollama, vLLM, llama.cpp) and test fakes set this. */
  readonly baseUrl: Option.Option<string>
}

export interface LlmConfigShape {
  readonly openai: ProviderSettings
  readonly anthropic: ProviderSettings
  readonly google: ProviderSettings
  /** Per provider call (until the stream ends). */
  readonly timeoutMs: number
  /** Retries after the first attempt, on 429 / 5xx / connection errors. */
  readonly maxRetries: number
  readonly retryBaseDelayMs: number
  /** Upper bound of LLM → tool → LLM rounds in one run. */
  readonly maxSteps: number
}

const provider = (prefix: string): Config.Config<ProviderSettings> =>
  Config.all({
    apiKey: Config.option(Config.redacted(`${prefix}_API_KEY`)),
    baseUrl: Config.option(Config.string(`${prefix}_BASE_URL`))
  })

/**
 * LLM provider settings. Keys are `Config.redacted` and only unwrapped when a
 * client is built; a provider with neither key nor base URL is "not
 * configured" and its agents answer through the local fallback.
 */
export class LlmConfig extends Context.Tag("Llm/LlmConfig")<LlmConfig, LlmConfigShape>() {
  static readonly config: Config.Config<LlmConfigShape> = Config.all({
    openai: provider("OPENAI"),
    anthropic: provider("ANTHROPIC"),
    google: provider("GOOGLE"),
    timeoutMs: Values.positiveInteger("LLM_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
    maxRetries: Values.nonNegativeInteger("LLM_MAX_RETRIES").pipe(Config.withDefault(3)),
    retryBaseDelayMs: Values.positiveInteger("LLM_RETRY_BASE_DELAY_MS").pipe(Config.withDefault(500)),
    maxSteps: Values.positiveInteger("AGENT_MAX_STEPS").pipe(Config.withDefault(8))
  })

  static readonly layer = Layer.effect(LlmConfig, LlmConfig.config)

  /** For tests: the env-derived values, overridden field by field. */
  static readonly layerWith = (overrides: Partial<LlmConfigShape>) =>
    Layer.effect(LlmConfig, Effect.map(LlmConfig.config, (c) => ({ ...c, ...overrides })))
}

export const configured = (p: ProviderSettings) => Option.isSome(p.apiKey) || Option.isSome(p.baseUrl)
