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
 * Hybrid retrieval: the vector candidates come from the per-dimension HNSW
 * index (iterative scan, so the project/collection filter cannot starve the
 * result), the text candidates from the GIN full-text index; both lists are
 * fused by reciprocal rank. One statement, one project, one collection.
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
        ? sql`SELECT NULL::bigint AS id, NULL::bigint AS rank WHERE false`
        : sql`SELECT s.id, row_number() OVER (ORDER BY s.score DESC, s.id) AS rank FROM (
            SELECT c.id, ts_rank_cd(c.tsv, q) AS score
            FROM rag_chunks c, websearch_to_tsquery('english', ${request.query}) q
            WHERE ${base} AND c.tsv @@ q
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
            WITH v AS (${vectorCte}), t AS (${textCte}),
            ids AS (SELECT id FROM v UNION SELECT id FROM t)
            SELECT c.id::text AS chunk_id, c.document_id, d.filename, c.chunk_index, c.content, c.metadata,
              1 - ((c.embedding::vector(${dim})) <=> ${vec}::vector(${dim})) AS similarity,
              v.rank::int AS vector_rank, t.rank::int AS text_rank
            FROM ids JOIN rag_chunks c ON c.id = ids.id
            JOIN rag_documents d ON d.id = c.document_id AND d.project_id = ${request.projectId}
            LEFT JOIN v ON v.id = c.id LEFT JOIN t ON t.id = c.id`
        })
      ).pipe(Effect.orDie)
      const scored = rows
        .map((r) => {
          const similarity = Number(r.similarity)
          const fused = (r.vectorRank === null ? 0 : 1 / (RRF_K + r.vectorRank)) +
            (r.textRank === null ? 0 : 1 / (RRF_K + r.textRank))
          const score = mode === "hybrid" ? fused : mode === "vector" ? similarity : 1 / (r.textRank ?? Infinity)
          return new SearchHit({ ...r, similarity, score })
        })
        .filter((h) => request.minScore === undefined || h.similarity >= request.minScore)
        .sort((a, b) => b.score - a.score || b.similarity - a.similarity)
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
