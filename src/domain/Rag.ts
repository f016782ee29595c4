import { Schema } from "effect"

export const DocumentStatus = Schema.Literal("pending", "processing", "ready", "failed")

export class RagDocument extends Schema.Class<RagDocument>("RagDocument")({
  id: Schema.String,
  projectId: Schema.String,
  filename: Schema.String,
  contentType: Schema.String,
  contentHash: Schema.String,
  sizeBytes: Schema.Number,
  status: DocumentStatus,
  chunkCount: Schema.Number,
  chunksEmbedded: Schema.Number,
  collectionId: Schema.NullOr(Schema.String),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  error: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
}) {}

/** A document as callers see it (REST and RPC): dates travel as ISO strings. */
export const DocumentView = Schema.Struct({
  ...RagDocument.fields,
  createdAt: Schema.Date,
  updatedAt: Schema.Date
})

export const SearchFilters = Schema.Struct({
  /** Only chunks of these documents. */
  documentIds: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(100))),
  /** Only documents of these content types ("application/pdf", "text/markdown", ...). */
  contentTypes: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(20))),
  /** Chunk metadata must contain these pairs (e.g. `{ "page": 2 }`, `{ "heading": "Refunds" }`). */
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number) }))
})

export const SearchMode = Schema.Literal("hybrid", "vector", "text")

export const SearchRequest = Schema.Struct({
  projectId: Schema.String,
  query: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4000)),
  k: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
  /** Minimum cosine similarity (-1..1) of every returned chunk to the query. */
  minScore: Schema.optional(Schema.Number.pipe(Schema.between(-1, 1))),
  /** hybrid (default): full-text and vector rankings fused by reciprocal rank. */
  mode: Schema.optional(SearchMode),
  filters: Schema.optional(SearchFilters)
})
export type SearchRequest = typeof SearchRequest.Type

export class SearchHit extends Schema.Class<SearchHit>("SearchHit")({
  chunkId: Schema.String,
  documentId: Schema.String,
  filename: Schema.String,
  chunkIndex: Schema.Number,
  content: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** Hybrid: the legs' normalised scores combined (cosine and best-normalised text score, equal weights; src/rag/Fusion.ts); vector: the similarity; text: 1 / text rank. */
  score: Schema.Number,
  /** Cosine similarity to the query. */
  similarity: Schema.Number,
  /** Position in the full-text ranking (1 = best), null when the text did not match. */
  textRank: Schema.NullOr(Schema.Number),
  /** Position in the vector ranking (1 = nearest), null when outside the candidates. */
  vectorRank: Schema.NullOr(Schema.Number)
}) {}

export class SearchResult extends Schema.Class<SearchResult>("SearchResult")({
  query: Schema.String,
  mode: SearchMode,
  modelId: Schema.String,
  hits: Schema.Array(SearchHit),
  tookMs: Schema.Number
}) {}
