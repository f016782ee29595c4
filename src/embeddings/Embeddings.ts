import { Context, Data, Effect } from "effect"

/**
 * Why an embedding call failed. `Unavailable`: the model cannot be loaded or
 * the provider cannot be reached; `RateLimited`: the provider said so (retry
 * later); `InvalidInput`: the request itself is unusable (e.g. too many texts).
 */
export class EmbeddingsError extends Data.TaggedError("EmbeddingsError")<{
  readonly reason: "Unavailable" | "RateLimited" | "InvalidInput" | "Provider"
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddingsShape {
  /**
   * Stable identity of the vector space ("local/glove-100d-sif", "openai/text-embedding-3-small",
   * ...). Vectors from different model ids must never be compared: stores record it per collection.
   */
  readonly modelId: string
  /** Length of every vector `embed` returns. */
  readonly dimension: number
  /**
   * One L2-normalised vector per text, in input order (so cosine = dot product).
   * Implementations batch internally and cache by content hash: callers may pass
   * any number of texts. An empty or whitespace-only text embeds to a zero vector.
   */
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingsError>
}

/**
 * Text → vector (contract). The platform provides one instance chosen by
 * configuration (EMBEDDINGS_PROVIDER / EMBEDDINGS_MODEL_PATH); RAG ingestion,
 * RAG queries and semantic search elsewhere all use it.
 */
export class Embeddings extends Context.Tag("Embeddings/Embeddings")<Embeddings, EmbeddingsShape>() {}

/** Cosine similarity of two vectors of the same length (1 = same direction). */
export const cosineSimilarity = (a: Float32Array, b: Float32Array): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/** Convenience: one text. */
export const embedOne = (text: string) =>
  Effect.flatMap(Embeddings, (e) => Effect.map(e.embed([text]), (vs) => vs[0]))
