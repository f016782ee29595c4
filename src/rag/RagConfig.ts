import { Config, Context, Effect, Layer } from "effect"
import type { ExtractionSettings } from "./Extraction.ts"
import * as Values from "../config/Values.ts"

/** Extraction limits (`ExtractionSettings`): a document over one is refused at upload with 413 and the variable's name. */
export interface RagConfigShape extends ExtractionSettings {
  /** Largest accepted upload; larger ones are refused with 413 before anything is stored. */
  readonly maxDocumentBytes: number
  readonly chunkMaxTokens: number
  readonly chunkOverlapTokens: number
  /** Chunks embedded and written per step of an ingestion (one progress event each). */
  readonly ingestBatchSize: number
  /**
   * HNSW candidate list size at query time (pgvector hnsw.ef_search): recall vs latency.
   * 300: recall@10 0.960 at p50 14.4 ms over 100k chunks on the embedded database (bun run bench rag).
   */
  readonly hnswEfSearch: number
  /**
   * Uploads of one project being read and extracted at once on a node (each holds its bytes,
   * up to `maxDocumentBytes`, while it waits for one of the `extractConcurrency` workers); more
   * are refused with 429.
   */
  readonly extractMaxPendingPerProject: number
}

export class RagConfig extends Context.Tag("Rag/RagConfig")<RagConfig, RagConfigShape>() {
  static readonly config: Config.Config<RagConfigShape> = Config.all({
    maxDocumentBytes: Values.positiveInteger("RAG_MAX_DOCUMENT_BYTES").pipe(Config.withDefault(10 * 1024 * 1024)),
    chunkMaxTokens: Values.positiveInteger("RAG_CHUNK_TOKENS").pipe(Config.withDefault(200)),
    chunkOverlapTokens: Values.nonNegativeInteger("RAG_CHUNK_OVERLAP_TOKENS").pipe(Config.withDefault(40)),
    ingestBatchSize: Values.positiveInteger("RAG_INGEST_BATCH").pipe(Config.withDefault(64)),
    hnswEfSearch: Values.positiveInteger("RAG_HNSW_EF_SEARCH").pipe(Config.withDefault(400)),
    maxPages: Values.positiveInteger("RAG_EXTRACT_MAX_PAGES").pipe(Config.withDefault(2_000)),
    // mammoth holds ~7 KB per paragraph while converting (1M paragraphs: 7.1 GB).
    maxParagraphs: Values.positiveInteger("RAG_EXTRACT_MAX_PARAGRAPHS").pipe(Config.withDefault(20_000)),
    maxTextBytes: Values.positiveInteger("RAG_EXTRACT_MAX_TEXT_BYTES").pipe(Config.withDefault(8 * 1024 * 1024)),
    maxInflatedBytes: Values.positiveInteger("RAG_EXTRACT_MAX_INFLATED_BYTES").pipe(Config.withDefault(256 * 1024 * 1024)),
    maxInflateRatio: Values.positiveInteger("RAG_EXTRACT_MAX_INFLATE_RATIO").pipe(Config.withDefault(100)),
    extractTimeoutMs: Values.positiveInteger("RAG_EXTRACT_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
    extractMaxMemoryMb: Values.positiveInteger("RAG_EXTRACT_MAX_MEMORY_MB").pipe(Config.withDefault(1024)),
    extractConcurrency: Values.positiveInteger("RAG_EXTRACT_CONCURRENCY").pipe(Config.withDefault(2)),
    extractMaxPendingPerProject: Values.positiveInteger("RAG_EXTRACT_MAX_PENDING_PER_PROJECT").pipe(Config.withDefault(4))
  })

  static readonly layer = Layer.effect(RagConfig, RagConfig.config)

  static readonly layerWith = (overrides: Partial<RagConfigShape>) =>
    Layer.effect(RagConfig, Effect.map(RagConfig.config, (c) => ({ ...c, ...overrides })))
}
