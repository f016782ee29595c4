import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { defaultModelRoot } from "./model/GloveModel.ts"
import * as Values from "../config/Values.ts"

export interface EmbeddingsConfigShape {
  /** "local": ONNX on this machine (GloVe-derived by default, MiniLM & co. with `modelPath`). */
  readonly provider: "local" | "openai" | "gemini"
  /** A transformers.js model directory (config.json, tokenizer.json, onnx/model.onnx), e.g. all-MiniLM-L6-v2. */
  readonly modelPath: Option.Option<string>
  /** Provider model name (openai: text-embedding-3-small, gemini: text-embedding-004 by default). */
  readonly model: Option.Option<string>
  /** Vector length for provider models this code does not know. */
  readonly dimension: Option.Option<number>
  readonly batchSize: number
  /** Where the GloVe-derived default model is built once and reused. */
  readonly modelCacheDir: string
  /** Entries of the in-memory content-hash cache. */
  readonly memoryCacheEntries: number
  readonly openaiApiKey: Option.Option<Redacted.Redacted<string>>
  readonly openaiBaseUrl: Option.Option<string>
  readonly geminiApiKey: Option.Option<Redacted.Redacted<string>>
  readonly geminiBaseUrl: Option.Option<string>
}

export class EmbeddingsConfig extends Context.Tag("Embeddings/EmbeddingsConfig")<
  EmbeddingsConfig,
  EmbeddingsConfigShape
>() {
  static readonly config: Config.Config<EmbeddingsConfigShape> = Config.all({
    provider: Config.literal("local", "openai", "gemini")("EMBEDDINGS_PROVIDER").pipe(
      Config.withDefault("local" as const)
    ),
    modelPath: Config.option(Config.string("EMBEDDINGS_MODEL_PATH")),
    model: Config.option(Config.string("EMBEDDINGS_MODEL")),
    dimension: Config.option(Values.positiveInteger("EMBEDDINGS_DIMENSION")),
    batchSize: Values.positiveInteger("EMBEDDINGS_BATCH_SIZE").pipe(Config.withDefault(64)),
    modelCacheDir: Config.string("EMBEDDINGS_CACHE_DIR").pipe(Config.withDefault(defaultModelRoot)),
    memoryCacheEntries: Values.nonNegativeInteger("EMBEDDINGS_MEMORY_CACHE").pipe(Config.withDefault(20_000)),
    openaiApiKey: Config.option(Config.redacted("OPENAI_API_KEY")),
    openaiBaseUrl: Config.option(Config.string("OPENAI_BASE_URL")),
    geminiApiKey: Config.option(Config.redacted("GEMINI_API_KEY")),
    geminiBaseUrl: Config.option(Config.string("GEMINI_BASE_URL"))
  })

  static readonly layer = Layer.effect(EmbeddingsConfig, EmbeddingsConfig.config)

  /** For tests: the defaults, overridden field by field. */
  static readonly layerWith = (overrides: Partial<EmbeddingsConfigShape>) =>
    Layer.effect(EmbeddingsConfig, Effect.map(EmbeddingsConfig.config, (c) => ({ ...c, ...overrides })))
}
