/**
 * The RAG benchmark's bulk loader (not the ingestion path: no documents, no
 * progress, no cache): what an operator importing a large corpus would do,
 * except for one bench-only shortcut in how vectors are computed.
 *
 * - Embeddings: by default the real offline embedder (`LocalEmbedWorker.ts`,
 *   the worker the platform runs) in `workers` threads side by side. On the
 *   shared 2-core machine that is ~160 chunks/s (1M chunks: 1h45), so the
 *   bench may instead compute the GloVe model's own arithmetic directly
 *   (`directGloveEmbedder`: its token rows read from the generated ONNX file,
 *   mean-pooled, normalised), valid only for the bench's texts (whole
 *   vocabulary words and "."), and checked against the worker on a sample
 *   before it is used: it must give the same vectors.
 * - Rows written as one multi-row INSERT per batch from three arrays
 *   (`unnest`): one round trip and one parse per batch, on PGlite and native
 *   PostgreSQL alike; the next batches embed while a batch is written.
 * - Indexes (HNSW, GIN over the tsvector) dropped before the load and built
 *   once after it by the caller: building once is far cheaper than
 *   maintaining them row by row.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { toVectorLiteral } from "../../../src/rag/RagRepo.ts"
import * as fs from "node:fs"
import * as path from "node:path"
import { defaultModelRoot, ensureGloveModel, GLOVE_DIMENSION, GLOVE_MODEL_ID } from "../../../src/embeddings/model/GloveModel.ts"

type Reply = { type: "ready" } | { type: "error"; message: string } | { type: "result"; requestId: number; data?: Float32Array; error?: string }

/** `workers` embedder threads; `embed` hands a batch to the least busy one. */
export const makeEmbedderPool = async (workers: number) => {
  const pool = await Promise.all(Array.from({ length: workers }, () =>
    new Promise<{ worker: Worker; busy: number; pending: Map<number, (r: Reply) => void> }>((resolve, reject) => {
      const worker = new Worker(new URL("../../../src/embeddings/LocalEmbedWorker.ts", import.meta.url).href)
      const pending = new Map<number, (r: Reply) => void>()
      const entry = { worker, busy: 0, pending }
      worker.onmessage = (event: MessageEvent<Reply>) => {
        const m = event.data
        if (m.type === "ready") resolve(entry)
        else if (m.type === "error") reject(new Error(m.message))
        else {
          pending.get(m.requestId)?.(m)
          pending.delete(m.requestId)
        }
      }
      worker.postMessage({ type: "init", root: defaultModelRoot, id: GLOVE_MODEL_ID, build: true })
    })))
  let nextId = 0
  return {
    embed: (texts: Array<string>) => {
      const entry = pool.reduce((a, b) => (b.busy < a.busy ? b : a))
      entry.busy++
      const requestId = nextId++
      return new Promise<Float32Array>((resolve, reject) => {
        entry.pending.set(requestId, (m) => {
          entry.busy--
          if (m.type === "result" && m.data) resolve(m.data)
          else reject(new Error(m.type === "result" ? m.error : "embedding worker failed"))
        })
        entry.worker.postMessage({ type: "embed", requestId, texts })
      })
    },
    close: () => pool.forEach((p) => p.worker.terminate())
  }
}

/**
 * The GloVe model's computation (Gather of each token's row, mean, then the
 * embedder's L2 normalisation) done in this thread: the rows are the ONNX
 * file's `embeddings` initializer, the vocabulary its tokenizer.json's.
 * Tokenisation here only splits lower-case words and punctuation, so it
 * matches the real tokenizer for the bench's texts only (`verifyDirectEmbedder`).
 */
export const directGloveEmbedder = () => {
  const dir = ensureGloveModel(defaultModelRoot)
  const vocab = (JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")) as {
    model: { vocab: Record<string, number> }
  }).model.vocab
  const rows = (JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as { vocab_size: number }).vocab_size
  const d = GLOVE_DIMENSION
  const onnx = fs.readFileSync(path.join(dir, "onnx", "model.onnx"))
  // The initializer's raw_data field (tag 9, length-delimited: 0x4a, varint length) of rows × d floats.
  const size = rows * d * 4
  const varint: Array<number> = []
  for (let n = size; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      varint.push(n)
      break
    }
    varint.push((n % 128) | 128)
  }
  const marker = Buffer.from([0x4a, ...varint])
  const at = onnx.indexOf(marker)
  if (at < 0) throw new Error("embedding table not found in model.onnx")
  const table = new Float32Array(onnx.buffer.slice(onnx.byteOffset + at + marker.length, onnx.byteOffset + at + marker.length + size))
  return (texts: ReadonlyArray<string>) => {
    const out = new Float32Array(texts.length * d)
    texts.forEach((text, t) => {
      const v = out.subarray(t * d, (t + 1) * d)
      let tokens = 0
      for (const token of text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) {
        tokens++
        const id = vocab[token] ?? 1
        for (let k = 0; k < d; k++) v[k] += table[id * d + k]
      }
      let norm = 0
      for (let k = 0; k < d; k++) norm += v[k] * v[k]
      norm = Math.sqrt(norm)
      if (tokens > 0 && norm > 0) for (let k = 0; k < d; k++) v[k] /= norm
    })
    return out
  }
}

/** Largest |difference| between the direct computation and the real worker over `texts`. */
export const verifyDirectEmbedder = async (texts: Array<string>) => {
  const pool = await makeEmbedderPool(1)
  try {
    const real = await pool.embed(texts)
    const direct = directGloveEmbedder()(texts)
    let worst = 0
    for (let i = 0; i < real.length; i++) worst = Math.max(worst, Math.abs(real[i] - direct[i]))
    return worst
  } finally {
    pool.close()
  }
}

/**
 * Loads `count` chunks of `text()` into one document of one collection,
 * `batch` rows per INSERT: with `embedder: "worker"`, `workers` embedder
 * threads and at most `workers * 2` batches embedding at once; with "direct"
 * (verified first, see above), vectors computed here while the previous
 * batch is written.
 */
export const bulkLoadChunks = (options: {
  readonly count: number
  readonly text: () => string
  readonly documentId: string
  readonly projectId: string
  readonly collectionId: string
  readonly embedder: "worker" | "direct"
  readonly workers: number
  readonly batch?: number
  readonly onProgress?: (loaded: number) => void
}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const batch = options.batch ?? 1_000
    const d = GLOVE_DIMENSION
    const embed = options.embedder === "direct"
      ? yield* Effect.sync(() => {
        const direct = directGloveEmbedder()
        return (texts: Array<string>) => Promise.resolve(direct(texts))
      })
      : (yield* Effect.acquireRelease(Effect.promise(() => makeEmbedderPool(options.workers)), (p) => Effect.sync(p.close))).embed
    const starts = Array.from({ length: Math.ceil(options.count / batch) }, (_, i) => i * batch)
    let loaded = 0
    yield* Effect.forEach(starts, (start) =>
      Effect.gen(function*() {
        // Texts are drawn in batch order (the generator is sequential), before any await.
        const texts = Array.from({ length: Math.min(batch, options.count - start) }, options.text)
        const data = yield* Effect.promise(() => embed(texts))
        const vectors = texts.map((_, i) => toVectorLiteral(data.subarray(i * d, (i + 1) * d)))
        yield* sql`INSERT INTO rag_chunks (document_id, project_id, collection_id, chunk_index, content, content_hash,
            token_count, metadata, dimension, embedding)
          SELECT ${options.documentId}, ${options.projectId}, ${options.collectionId}, u.i, u.content, u.i::text,
            24, '{}'::jsonb, ${d}, u.e::vector
          FROM unnest(${texts.map((_, i) => start + i)}::int[], ${texts}::text[], ${vectors}::text[]) AS u(i, content, e)`
        loaded += texts.length
        options.onProgress?.(loaded)
      }), { concurrency: options.embedder === "direct" ? 2 : options.workers * 2, discard: true })
  }).pipe(Effect.scoped)
