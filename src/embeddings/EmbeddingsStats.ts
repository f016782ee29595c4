import { Context, Effect } from "effect"
import { createHash } from "node:crypto"

export interface EmbeddingsCounters {
  readonly provider: string
  readonly modelId: string
  readonly dimension: number
  readonly textsRequested: number
  readonly cacheHits: number
  readonly textsEmbedded: number
  readonly batches: number
  readonly cacheEntries: number
}

/** Counters of the process's embedder, for `GET /rag/embeddings/stats` and benchmarks. */
export class EmbeddingsStats extends Context.Tag("Embeddings/EmbeddingsStats")<
  EmbeddingsStats,
  { readonly snapshot: Effect.Effect<EmbeddingsCounters> }
>() {}

export const contentHash = (text: string) => createHash("sha256").update(text).digest("hex")
