import { describe, expect, test } from "bun:test"
import { Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { cosineSimilarity, Embeddings } from "../../src/embeddings/Embeddings.ts"
import { EmbeddingsConfig, type EmbeddingsConfigShape } from "../../src/embeddings/EmbeddingsConfig.ts"
import { EmbeddingsFromConfig } from "../../src/embeddings/EmbeddingsLive.ts"
import { EmbeddingsStats } from "../../src/embeddings/EmbeddingsStats.ts"

const layerWith = (overrides: Partial<EmbeddingsConfigShape>) =>
  EmbeddingsFromConfig.pipe(
    Layer.provide(EmbeddingsConfig.layerWith(overrides)),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )

const run = <A, E>(layer: Layer.Layer<Embeddings | EmbeddingsStats, E>, effect: Effect.Effect<A, E, Embeddings | EmbeddingsStats>) =>
  Effect.runPromise(Effect.provide(effect, layer))

/** A deterministic fake vector: letter histogram of the text, so equal texts give equal vectors. */
const fakeVector = (text: string, dim: number) => {
  const v = new Array<number>(dim).fill(0)
  for (const ch of text.toLowerCase()) v[ch.charCodeAt(0) % dim] += 1
  return v
}

describe("local embedder (GloVe-derived ONNX, offline)", () => {
  const local = layerWith({ provider: "local", modelPath: Option.none() })

  test("paraphrases score higher than unrelated sentences; vectors are unit length", async () => {
    const [a, b, c, d] = await run(local, Effect.flatMap(Embeddings, (e) =>
      e.embed([
        "How do I reset my password?",
        "To change your login credentials, choose a new password in account settings.",
        "Quarterly revenue grew by 12 percent.",
        "The company's sales increased last quarter."
      ])))
    expect(a.length).toBe(100)
    expect(Math.hypot(...a)).toBeCloseTo(1, 4)
    expect(cosineSimilarity(a, b)).toBeGreaterThan(cosineSimilarity(a, c) + 0.2)
    expect(cosineSimilarity(c, d)).toBeGreaterThan(cosineSimilarity(c, b) + 0.2)
  }, 60_000)

  test("identical texts hit the content-hash cache; empty text is a zero vector", async () => {
    const result = await run(local, Effect.gen(function*() {
      const e = yield* Embeddings
      const stats = yield* EmbeddingsStats
      const first = yield* e.embed(["alpha beta", "alpha beta", "  "])
      const again = yield* e.embed(["alpha beta"])
      return { first, again, counters: yield* stats.snapshot, modelId: e.modelId }
    }))
    expect(result.modelId).toBe("local/glove-100d-sif-v1")
    expect(result.first[0]).toEqual(result.first[1])
    expect(result.again[0]).toEqual(result.first[0])
    expect(result.first[2].every((x) => x === 0)).toBe(true)
    expect(result.counters.textsEmbedded).toBe(1)
    expect(result.counters.cacheHits).toBe(1)
  }, 60_000)

  test("a model path without a model is a clear error", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.provide(Embeddings, layerWith({ provider: "local", modelPath: Option.some("/nonexistent/model") }))
    )
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("EMBEDDINGS_MODEL_PATH")
  })
})

describe("provider embedders against local fake servers", () => {
  test("OpenAI SDK: batches, normalises, records the model", async () => {
    const requests: Array<{ model: string; input: Array<string>; auth: string | null }> = []
    const server = Bun.serve({
      port: 0,
      fetch: async (req) => {
        const body = (await req.json()) as { model: string; input: Array<string> }
        requests.push({ ...body, auth: req.headers.get("authorization") })
        return Response.json({
          object: "list",
          model: body.model,
          // Out of order on purpose: the client must sort by index.
          data: body.input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, 8) })).reverse(),
          usage: { prompt_tokens: 1, total_tokens: 1 }
        })
      }
    })
    try {
      const layer = layerWith({
        provider: "openai",
        model: Option.some("my-embedder"),
        dimension: Option.some(8),
        batchSize: 2,
        openaiApiKey: Option.some(Redacted.make("sk-test")),
        openaiBaseUrl: Option.some(`http://127.0.0.1:${server.port}/v1`)
      })
      const { vectors, modelId } = await run(layer, Effect.flatMap(Embeddings, (e) =>
        Effect.map(e.embed(["aaa", "bbb", "ccc", "aaa"]), (vectors) => ({ vectors, modelId: e.modelId }))))
      expect(modelId).toBe("openai/my-embedder")
      expect(requests.map((r) => r.input)).toEqual([["aaa", "bbb"], ["ccc"]])
      expect(requests[0].auth).toBe("Bearer sk-test")
      expect(vectors[0]).toEqual(vectors[3])
      expect(Math.hypot(...vectors[1])).toBeCloseTo(1, 5)
      expect(cosineSimilarity(vectors[0], vectors[1])).toBeCloseTo(0, 5)
    } finally {
      server.stop(true)
    }
  })

  test("OpenAI 429 surfaces as RateLimited", async () => {
    const server = Bun.serve({
      port: 0,
      fetch: () => Response.json({ error: { message: "slow down", type: "rate_limit" } }, { status: 429 })
    })
    try {
      const layer = layerWith({
        provider: "openai",
        model: Option.some("text-embedding-3-small"),
        openaiApiKey: Option.some(Redacted.make("sk-test")),
        openaiBaseUrl: Option.some(`http://127.0.0.1:${server.port}/v1`)
      })
      const error = await Effect.runPromise(
        Effect.provide(Effect.flip(Effect.flatMap(Embeddings, (e) => e.embed(["x"]))), layer)
      )
      expect(error.reason).toBe("RateLimited")
    } finally {
      server.stop(true)
    }
  }, 30_000)

  test("Gemini SDK: batchEmbedContents wire format", async () => {
    const paths: Array<string> = []
    const server = Bun.serve({
      port: 0,
      fetch: async (req) => {
        paths.push(new URL(req.url).pathname)
        const body = (await req.json()) as { requests: Array<{ content: { parts: Array<{ text: string }> } }> }
        return Response.json({
          embeddings: body.requests.map((r) => ({ values: fakeVector(r.content.parts[0].text, 768) }))
        })
      }
    })
    try {
      const layer = layerWith({
        provider: "gemini",
        geminiApiKey: Option.some(Redacted.make("g-test")),
        geminiBaseUrl: Option.some(`http://127.0.0.1:${server.port}`)
      })
      const { vectors, modelId, dimension } = await run(layer, Effect.flatMap(Embeddings, (e) =>
        Effect.map(e.embed(["hello", "world"]), (vectors) => ({ vectors, modelId: e.modelId, dimension: e.dimension }))))
      expect(modelId).toBe("gemini/text-embedding-004")
      expect(dimension).toBe(768)
      expect(paths[0]).toContain("text-embedding-004:batchEmbedContents")
      expect(vectors).toHaveLength(2)
      expect(Math.hypot(...vectors[0])).toBeCloseTo(1, 5)
    } finally {
      server.stop(true)
    }
  })
})
