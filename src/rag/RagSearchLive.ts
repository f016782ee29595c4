import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { VectorSupport } from "../db/VectorSupport.ts"
import { Embeddings } from "../embeddings/Embeddings.ts"
import { RagConfig } from "./RagConfig.ts"
import { RagRepo, toVectorLiteral } from "./RagRepo.ts"
import { RagSearch, RagUnavailable } from "./RagSearch.ts"
import { SearchHit, type SearchRequest, SearchResult } from "../domain/Rag.ts"

/** Reciprocal-rank-fusion constant (Cormack et al.): dampens the weight of top ranks. */
const RRF_K = 60

interface Row {
  readonly chunkId: string
  readonly documentId: string
  readonly filename: string
  readonly chunkIndex: number
  readonly content: string
  readonly metadata: Record<string, unknown>
  readonly similarity: number
  readonly vectorRank: number | null
  readonly textRank: number | null
  readonly textScore: number | null
}

export const disabledMessage =
  "RAG is disabled: VECTOR_STORE=disabled or this database has no pgvector extension. Install pgvector and set VECTOR_STORE=required to enable it."

/** RAG answers only with pgvector present and not switched off by configuration. */
export const ragEnabled = Effect.gen(function*() {
  const vector = yield* VectorSupport
  const config = yield* AppConfig
  return vector.available && config.vectorStore !== "disabled"
})

/**
 * Term-frequency saturation (as BM25's k1): a word's length-normalised
 * ts_rank_cd reaches half its weight at this value, one occurrence in a chunk
 * of ~40 distinct lexemes (0.1 / (1 + ln 40)). Repeating one question word
 * cannot outweigh matching several of them.
 */
const TF_HALF = 0.021
/**
 * Weights of the two legs in the rank fusion. The text leg wins ties: an
 * averaged-word-vector embedding of a question is dominated by its question
 * words ("how often"), which the text leg's IDF discounts.
 */
const TEXT_WEIGHT = 1
const VECTOR_WEIGHT = 0.9
/**
 * Most rows counted for a lexeme's document frequency and the collection size
 * (bounded cost per query). A lexeme in DF_CAP chunks or more is also left out
 * of the text match (it would match a large part of the corpus, each row to be
 * ranked, for almost no weight), unless every word of the question is; it still
 * counts in the score of the chunks that match on the other words.
 */
const DF_CAP = 2000

/**
 * Hybrid retrieval: the vector candidates come from the per-dimension HNSW
 * index (iterative scan, so the project/collection filter cannot starve the
 * result), the text candidates from the GIN full-text index (any of the
 * question's words, ranked by IDF-weighted, length-normalised ts_rank_cd);
 * both lists are fused by reciprocal rank. One statement, one project, one collection.
 */
export const makeRagSearch = Effect.gen(function*() {
  const repo = yield* RagRepo
  const embeddings = yield* Embeddings
  const enabled = yield* ragEnabled
  const config = yield* RagConfig
  const sql = repo.sql
  // A project's collection for this model never changes id once created: remember found ones.
  const collections = new Map<string, string>()
  const collectionOf = (projectId: string) =>
    collections.has(projectId)
      ? Effect.succeed(collections.get(projectId))
      : sql<{ id: string }>`
          SELECT id FROM rag_collections WHERE project_id = ${projectId} AND model_id = ${embeddings.modelId}`.pipe(
          Effect.orDie,
          Effect.map((rows) => {
            if (rows.length > 0) collections.set(projectId, rows[0].id)
            return rows[0]?.id
          })
        )

  /**
   * The question's lexemes (english stemming, stop words dropped), each with a
   * BM25 inverse document frequency ln(1 + (N - df + 0.5) / (df + 0.5)) in the
   * collection. df and N are counted through the indexes up to DF_CAP rows, so
   * the cost stays bounded at any corpus size; past the cap IDF only orders
   * words as far as the cap tells them apart (rare words, the ones that matter,
   * are counted exactly). The text leg ORs the lexemes: a question need not
   * share every word with the passage (websearch_to_tsquery ANDed them, so
   * most questions matched nothing).
   */
  const questionTerms = (question: string, collectionId: string) =>
    sql`SELECT x.q, ln(1 + (n.n - x.df + 0.5)::float8 / (x.df + 0.5)) AS idf,
        x.df < ${DF_CAP} OR min(x.df) OVER () >= ${DF_CAP} AS kept
      FROM (
        SELECT t.q, (SELECT count(*) FROM (SELECT 1 FROM rag_chunks c
          WHERE c.collection_id = ${collectionId} AND c.tsv @@ t.q LIMIT ${DF_CAP}) z) AS df
        FROM (SELECT quote_literal(lexeme)::tsquery AS q FROM unnest(to_tsvector('english', ${question}))) t
      ) x,
      (SELECT count(*) AS n FROM (SELECT 1 FROM rag_chunks c WHERE c.collection_id = ${collectionId} LIMIT ${DF_CAP}) z) n`

  const run = (request: SearchRequest, options: { readonly exact: boolean }) =>
    Effect.gen(function*() {
      const started = performance.now()
      const k = request.k ?? 5
      const mode = request.mode ?? "hybrid"
      if (!enabled) return yield* new RagUnavailable({ message: disabledMessage })
      const modelId = embeddings.modelId
      const d = Math.trunc(embeddings.dimension)
      const collectionId = yield* collectionOf(request.projectId)
      if (collectionId === undefined) return new SearchResult({ query: request.query, mode, modelId, hits: [], tookMs: 0 })
      const [queryVector] = yield* embeddings.embed([request.query]).pipe(
        Effect.mapError((e) => new RagUnavailable({ message: `the embedding model is unavailable: ${e.message}` }))
      )
      const vec = toVectorLiteral(queryVector)
      const candidates = Math.min(400, Math.max(k * 4, 40))
      const dim = sql.literal(String(d))
      const filters = request.filters ?? {}
      const where = [
        sql`c.project_id = ${request.projectId}`,
        sql`c.collection_id = ${collectionId}`,
        ...(filters.documentIds && filters.documentIds.length > 0 ? [sql`c.document_id IN ${sql.in(filters.documentIds)}`] : []),
        ...(filters.contentTypes && filters.contentTypes.length > 0
          ? [sql`c.document_id IN (SELECT id FROM rag_documents WHERE project_id = ${request.projectId}
              AND content_type IN ${sql.in(filters.contentTypes)})`]
          : []),
        ...(filters.metadata && Object.keys(filters.metadata).length > 0
          ? [sql`c.metadata @> ${JSON.stringify(filters.metadata)}::jsonb`]
          : [])
      ]
      const base = sql.and(where)
      const vectorCte = mode === "text"
        ? sql`SELECT NULL::bigint AS id, NULL::bigint AS rank WHERE false`
        : sql`SELECT s.id, row_number() OVER (ORDER BY s.dist, s.id) AS rank FROM (
            SELECT c.id, (c.embedding::vector(${dim})) <=> ${vec}::vector(${dim}) AS dist
            FROM rag_chunks c WHERE ${base} AND c.dimension = ${dim}
            ORDER BY dist LIMIT ${candidates}) s`
      const textCte = mode === "vector"
        ? sql`SELECT NULL::bigint AS id, NULL::bigint AS rank, NULL::float8 AS score WHERE false`
        : sql`SELECT s.id, row_number() OVER (ORDER BY s.score DESC, s.id) AS rank, s.score FROM (
            SELECT c.id, (SELECT sum(w.idf * r.r / (r.r + ${TF_HALF}::float8))
              FROM terms w, LATERAL (SELECT ts_rank_cd(c.tsv, w.q, 1) AS r) r) AS score
            FROM rag_chunks c
            WHERE ${base} AND c.tsv @@ (SELECT string_agg(w.q::text, ' | ')::tsquery FROM terms w WHERE w.kept)
            ORDER BY score DESC LIMIT ${candidates}) s`
      const rows = yield* sql.withTransaction(
        Effect.gen(function*() {
          // Transaction-local settings (one round trip): the embedded database is one shared session.
          if (options.exact) yield* sql`SELECT set_config('enable_indexscan', 'off', true)`
          else {
            const ef = String(Math.min(1000, Math.max(candidates, config.hnswEfSearch)))
            yield* sql`SELECT set_config('hnsw.ef_search', ${ef}, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`
          }
          return yield* sql<Row>`
            WITH terms AS MATERIALIZED (${questionTerms(request.query, collectionId)}), v AS (${vectorCte}), t AS (${textCte}),
            ids AS (SELECT id FROM v UNION SELECT id FROM t)
            SELECT c.id::text AS chunk_id, c.document_id, d.filename, c.chunk_index, c.content, c.metadata,
              1 - ((c.embedding::vector(${dim})) <=> ${vec}::vector(${dim})) AS similarity,
              v.rank::int AS vector_rank, t.rank::int AS text_rank, t.score::float8 AS text_score
            FROM ids JOIN rag_chunks c ON c.id = ids.id
            JOIN rag_documents d ON d.id = c.document_id AND d.project_id = ${request.projectId}
            LEFT JOIN v ON v.id = c.id LEFT JOIN t ON t.id = c.id`
        })
      ).pipe(Effect.orDie)
      // Fused ranks tie when the legs disagree on few candidates (two documents: 1st + 2nd each);
      // the tie goes to the larger sum of cosine similarity and the best-normalised text score.
      const maxText = Math.max(0, ...rows.map((r) => Number(r.textScore ?? 0)))
      const tieBreak = new Map<string, number>()
      const scored = rows
        .map((r) => {
          const similarity = Number(r.similarity)
          const fused = (r.vectorRank === null ? 0 : VECTOR_WEIGHT / (RRF_K + r.vectorRank)) +
            (r.textRank === null ? 0 : TEXT_WEIGHT / (RRF_K + r.textRank))
          const score = mode === "hybrid" ? fused : mode === "vector" ? similarity : 1 / (r.textRank ?? Infinity)
          tieBreak.set(r.chunkId, similarity + (maxText > 0 ? Number(r.textScore ?? 0) / maxText : 0))
          return new SearchHit({ ...r, similarity, score })
        })
        .filter((h) => request.minScore === undefined || h.similarity >= request.minScore)
        .sort((a, b) => b.score - a.score || tieBreak.get(b.chunkId)! - tieBreak.get(a.chunkId)!)
        .slice(0, k)
      return new SearchResult({
        query: request.query,
        mode,
        modelId,
        hits: scored,
        tookMs: Math.round((performance.now() - started) * 100) / 100
      })
    }).pipe(
      Effect.withSpan("RagSearch.search", {
        attributes: { "rag.project_id": request.projectId, "rag.k": request.k ?? 5, "rag.mode": request.mode ?? "hybrid" }
      })
    )

  return {
    search: (request: SearchRequest) => run(request, { exact: false }),
    /** Exact (sequential scan) nearest neighbours: the recall baseline of the benchmark. */
    searchExact: (request: SearchRequest) => run(request, { exact: true })
  }
})

export const RagSearchLive = Layer.effect(
  RagSearch,
  Effect.map(makeRagSearch, (s) => RagSearch.of({ search: s.search }))
)
