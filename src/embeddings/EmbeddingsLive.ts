import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { Embeddings, EmbeddingsError, type EmbeddingsShape } from "./Embeddings.ts"
import { EmbeddingsConfig } from "./EmbeddingsConfig.ts"
import { type EmbeddingProvider, geminiProvider, localProvider, openaiProvider } from "./Providers.ts"
import { EmbeddingsStats, contentHash } from "./EmbeddingsStats.ts"

const normalise = (values: ArrayLike<number>, dimension: number): Float32Array => {
  const v = Float32Array.from(values)
  if (v.length !== dimension) {
    throw new EmbeddingsError({
      reason: "Provider",
      message: `embedding provider returned ${v.length} dimensions, expected ${dimension}`
    })
  }
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i]
  const norm = Math.sqrt(sum)
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm
  return v
}

const toError = (provider: EmbeddingProvider) => (cause: unknown) => {
  if (cause instanceof EmbeddingsError) return cause
  const status = typeof cause === "object" && cause !== null && "status" in cause ? cause.status : undefined
  return new EmbeddingsError({
    reason: status === 429 ? "RateLimited" : "Provider",
    message: `${provider.modelId}: embedding request failed${typeof status === "number" ? ` (HTTP ${status})` : ""}`,
    cause
  })
}

/**
 * Batching, de-duplication, a bounded content-hash cache (insertion-ordered Map
 * used as an LRU) and normalisation around a raw provider. One batch runs at a
 * time: onnxruntime already uses every core, and providers rate-limit.
 */
export const makeEmbeddings = (
  provider: EmbeddingProvider,
  options: { readonly batchSize: number; readonly cacheEntries: number }
) =>
  Effect.gen(function*() {
    const cache = new Map<string, Float32Array>()
    const gate = yield* Effect.makeSemaphore(1)
    const counters = { textsRequested: 0, cacheHits: 0, textsEmbedded: 0, batches: 0 }
    const zero = new Float32Array(provider.dimension)

    const remember = (key: string, v: Float32Array) => {
      if (options.cacheEntries <= 0) return
      cache.delete(key)
      cache.set(key, v)
      if (cache.size > options.cacheEntries) cache.delete(cache.keys().next().value as string)
    }

    const embedBatch = (texts: ReadonlyArray<string>) =>
      gate.withPermits(1)(
        Effect.tryPromise({ try: () => provider.embedBatch(texts), catch: toError(provider) }).pipe(
          Effect.flatMap((vectors) =>
            vectors.length === texts.length
              ? Effect.try({
                try: () => vectors.map((v) => normalise(v, provider.dimension)),
                catch: toError(provider)
              })
              : Effect.fail(
                new EmbeddingsError({
                  reason: "Provider",
                  message: `${provider.modelId}: ${vectors.length} vectors for ${texts.length} texts`
                })
              )
          ),
          Effect.tap(() =>
            Effect.sync(() => {
              counters.batches++
              counters.textsEmbedded += texts.length
            })
          ),
          Effect.withSpan("Embeddings.batch", {
            attributes: { "gen_ai.operation.name": "embeddings", "gen_ai.request.model": provider.modelId, count: texts.length }
          })
        )
      )

    const embed: EmbeddingsShape["embed"] = (texts) =>
      Effect.gen(function*() {
        counters.textsRequested += texts.length
        const result: Array<Float32Array> = new Array(texts.length)
        // Misses, de-duplicated: hash → positions waiting for it.
        const pending = new Map<string, { text: string; positions: Array<number> }>()
        texts.forEach((text, i) => {
          if (text.trim() === "") {
            result[i] = zero
            return
          }
          const key = contentHash(text)
          const hit = cache.get(key)
          if (hit !== undefined) {
            counters.cacheHits++
            remember(key, hit)
            result[i] = hit
            return
          }
          const entry = pending.get(key)
          if (entry) entry.positions.push(i)
          else pending.set(key, { text, positions: [i] })
        })
        const misses = [...pending.entries()]
        for (let start = 0; start < misses.length; start += options.batchSize) {
          const batch = misses.slice(start, start + options.batchSize)
          const vectors = yield* embedBatch(batch.map(([, e]) => e.text))
          batch.forEach(([key, e], j) => {
            remember(key, vectors[j])
            for (const p of e.positions) result[p] = vectors[j]
          })
        }
        return result
      }).pipe(Effect.withSpan("Embeddings.embed", { attributes: { count: texts.length } }))

    const snapshot = Effect.sync(() => ({
      provider: provider.provider,
      modelId: provider.modelId,
      dimension: provider.dimension,
      ...counters,
      cacheEntries: cache.size
    }))

    return {
      embeddings: Embeddings.of({ modelId: provider.modelId, dimension: provider.dimension, embed }),
      stats: { snapshot }
    }
  })

const providerFor = Effect.gen(function*() {
  const config = yield* EmbeddingsConfig
  const provider = config.provider === "openai"
    ? yield* openaiProvider(config)
    : config.provider === "gemini"
    ? yield* geminiProvider(config)
    : yield* localProvider(config)
  yield* Effect.logInfo("embeddings ready").pipe(
    Effect.annotateLogs({ modelId: provider.modelId, dimension: provider.dimension })
  )
  return yield* makeEmbeddings(provider, { batchSize: config.batchSize, cacheEntries: config.memoryCacheEntries })
})

/** `Embeddings` + `EmbeddingsStats` from an `EmbeddingsConfig`. */
export const EmbeddingsFromConfig = Layer.scopedContext(
  Effect.map(providerFor, ({ embeddings, stats }) =>
    Context.make(Embeddings, embeddings).pipe(Context.add(EmbeddingsStats, stats)))
)

/** The process's embedder, configured from the environment (EMBEDDINGS_*). */
export const EmbeddingsLive = EmbeddingsFromConfig.pipe(Layer.provide(EmbeddingsConfig.layer))
