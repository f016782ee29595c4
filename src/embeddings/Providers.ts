import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { EmbeddingsError } from "./Embeddings.ts"
import type { EmbeddingsConfigShape } from "./EmbeddingsConfig.ts"
import { GLOVE_DIMENSION, GLOVE_MODEL_ID } from "./model/GloveModel.ts"

/**
 * A raw embedder: one batch in, one vector per text out (not yet normalised).
 * Batching, caching and normalisation are added once, in `EmbeddingsLive`.
 */
export interface EmbeddingProvider {
  readonly provider: "local" | "openai" | "gemini"
  readonly modelId: string
  readonly dimension: number
  readonly embedBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<ArrayLike<number>>>
}

const unavailable = (message: string) => (cause: unknown) => new EmbeddingsError({ reason: "Unavailable", message, cause })

/** Known output sizes; anything else needs EMBEDDINGS_DIMENSION. */
const knownDimensions: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
  "text-embedding-004": 768,
  "gemini-embedding-001": 3072
}

const dimensionFor = (config: EmbeddingsConfigShape, model: string) =>
  Option.match(config.dimension, {
    onSome: Effect.succeed,
    onNone: () =>
      knownDimensions[model] !== undefined
        ? Effect.succeed(knownDimensions[model])
        : Effect.fail(
          new EmbeddingsError({
            reason: "Unavailable",
            message: `unknown output size for embedding model "${model}": set EMBEDDINGS_DIMENSION`
          })
        )
  })

/**
 * transformers.js on onnxruntime, offline, in a worker thread: the
 * GloVe-derived default (built on first use) or the model directory
 * EMBEDDINGS_MODEL_PATH names (e.g. all-MiniLM-L6-v2).
 */
export const localProvider = (config: EmbeddingsConfigShape) =>
  Effect.gen(function*() {
    const { root, id, dimension } = yield* Option.match(config.modelPath, {
      onNone: () => Effect.succeed({ root: config.modelCacheDir, id: GLOVE_MODEL_ID, dimension: GLOVE_DIMENSION }),
      onSome: (dir) =>
        Effect.try({
          try: () => {
            const resolved = path.resolve(dir)
            if (!fs.existsSync(path.join(resolved, "onnx", "model.onnx"))) throw new Error("no onnx/model.onnx")
            const modelConfig = JSON.parse(fs.readFileSync(path.join(resolved, "config.json"), "utf8")) as {
              hidden_size?: number
            }
            if (typeof modelConfig.hidden_size !== "number") throw new Error("config.json has no hidden_size")
            return { root: path.dirname(resolved), id: path.basename(resolved), dimension: modelConfig.hidden_size }
          },
          catch: unavailable(
            `EMBEDDINGS_MODEL_PATH must be a model directory with config.json and onnx/model.onnx (got ${dir})`
          )
        })
    })
    // Started on first use, not at start-up: building the default model takes seconds
    // the first time, and most processes (and tests) never embed anything.
    let worker: Promise<Worker> | undefined
    let nextId = 0
    const pending = new Map<number, { resolve: (v: Float32Array) => void; reject: (e: unknown) => void }>()
    const failAll = (error: unknown) => {
      for (const p of pending.values()) p.reject(error)
      pending.clear()
    }
    const start = () => {
      worker ??= new Promise<Worker>((resolve, reject) => {
        // ref: false — never the reason a process stays alive.
        const w = new Worker(new URL("./LocalEmbedWorker.ts", import.meta.url).href, { ref: false })
        w.onmessage = (event: MessageEvent) => {
          const m = event.data as
            | { type: "ready" }
            | { type: "error"; message: string }
            | { type: "result"; requestId: number; data?: Float32Array; error?: string }
          if (m.type === "ready") resolve(w)
          else if (m.type === "error") {
            worker = undefined
            w.terminate()
            reject(new Error(m.message))
          } else {
            const p = pending.get(m.requestId)
            pending.delete(m.requestId)
            if (m.data) p?.resolve(m.data)
            else p?.reject(new Error(m.error))
          }
        }
        w.onerror = (event) => {
          // A crashed worker is replaced on the next call.
          worker = undefined
          const error = new Error(`embedding worker crashed: ${event.message}`)
          failAll(error)
          reject(error)
        }
        w.postMessage({ type: "init", root, id, build: id === GLOVE_MODEL_ID })
      })
      return worker
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const w = worker
        worker = undefined
        failAll(new Error("embedder closed"))
        if (w) (await w.catch(() => undefined))?.terminate()
      })
    )
    return {
      provider: "local",
      modelId: id.startsWith("local/") ? id : `local/${id}`,
      dimension,
      embedBatch: async (texts) => {
        const w = await start().catch((e) => {
          throw new EmbeddingsError({ reason: "Unavailable", message: `could not load the local embedding model ${id}`, cause: e })
        })
        const requestId = nextId++
        const data = await new Promise<Float32Array>((resolve, reject) => {
          pending.set(requestId, { resolve, reject })
          w.postMessage({ type: "embed", requestId, texts: [...texts] })
        })
        return texts.map((_, i) => data.subarray(i * dimension, (i + 1) * dimension))
      }
    } satisfies EmbeddingProvider
  })

export const openaiProvider = (config: EmbeddingsConfigShape) =>
  Effect.gen(function*() {
    const model = Option.getOrElse(config.model, () => "text-embedding-3-small")
    const dimension = yield* dimensionFor(config, model)
    const apiKey = yield* Option.match(config.openaiApiKey, {
      onSome: (k) => Effect.succeed(Redacted.value(k)),
      onNone: () =>
        Effect.fail(new EmbeddingsError({ reason: "Unavailable", message: "EMBEDDINGS_PROVIDER=openai needs OPENAI_API_KEY" }))
    })
    // Loaded only when this provider is chosen (idle memory of every other process).
    const { default: OpenAI } = yield* Effect.promise(() => import("openai"))
    const client = new OpenAI({ apiKey, baseURL: Option.getOrUndefined(config.openaiBaseUrl), maxRetries: 2 })
    // text-embedding-3 models can shorten their output; older ones reject the parameter.
    const askDimensions = Option.isSome(config.dimension) && model.startsWith("text-embedding-3")
    return {
      provider: "openai",
      modelId: `openai/${model}${askDimensions ? `@${dimension}` : ""}`,
      dimension,
      embedBatch: async (texts) => {
        const res = await client.embeddings.create({
          model,
          input: [...texts],
          encoding_format: "float",
          ...(askDimensions ? { dimensions: dimension } : {})
        })
        return [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding)
      }
    } satisfies EmbeddingProvider
  })

export const geminiProvider = (config: EmbeddingsConfigShape) =>
  Effect.gen(function*() {
    const model = Option.getOrElse(config.model, () => "text-embedding-004")
    const dimension = yield* dimensionFor(config, model)
    const apiKey = yield* Option.match(config.geminiApiKey, {
      onSome: (k) => Effect.succeed(Redacted.value(k)),
      onNone: () =>
        Effect.fail(new EmbeddingsError({ reason: "Unavailable", message: "EMBEDDINGS_PROVIDER=gemini needs GEMINI_API_KEY" }))
    })
    const { GoogleGenerativeAI } = yield* Effect.promise(() => import("@google/generative-ai"))
    const generative = new GoogleGenerativeAI(apiKey).getGenerativeModel(
      { model },
      { baseUrl: Option.getOrUndefined(config.geminiBaseUrl) }
    )
    return {
      provider: "gemini",
      modelId: `gemini/${model}`,
      dimension,
      embedBatch: async (texts) => {
        const res = await generative.batchEmbedContents({
          requests: texts.map((text) => ({ model: `models/${model}`, content: { role: "user", parts: [{ text }] } }))
        })
        return res.embeddings.map((e) => e.values)
      }
    } satisfies EmbeddingProvider
  })
