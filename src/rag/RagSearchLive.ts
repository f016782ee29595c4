import type { Statement } from "@effect/sql"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { VectorSupport } from "../db/VectorSupport.ts"
import { Embeddings } from "../embeddings/Embeddings.ts"
import { RagConfig } from "./RagConfig.ts"
import { RagRepo, toVectorLiteral } from "./RagRepo.ts"
import { RagSearch, RagUnavailable } from "./RagSearch.ts"
import { SearchHit, type SearchRequest, SearchResult } from "../domain/Rag.ts"
import { fuseScores } from "./Fusion.ts"

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
/** A lexeme in more rows than this is left out of the text match (bounded rows ranked per query). */
const DF_CAP = 2000
/**
 * Rows each question lexeme brings to the text leg's ranking (the GIN match's first ones).
 * The bound keeps the leg's cost flat with corpus size; it is above every lexeme's
 * row count in the quality set, whose scores it therefore leaves unchanged.
 */
const TEXT_ROWS_PER_LEXEME = 300
/** How long the planner's lexeme statistics are reused before being read again. */
const STATS_TTL_MS = 60_000

/**
 * Hybrid retrieval: the vector candidates come from the per-dimension HNSW
 * index (iterative scan, so the project/collection filter cannot starve the
 * result), the text candidates from the GIN full-text index (any of the
 * question's words, ranked by IDF-weighted, length-normalised ts_rank_cd);
 * both legs' scores are normalised and combined (Fusion.ts). One project, one
 * collection; the two legs run as two statements side by side.
 */
export const makeRagSearch = Effect.gen(function*() {
  const repo = yield* RagRepo
  const embeddings = yield* Embeddings
  const enabled = yield* ragEnabled
  const config = yield* RagConfig
  const sql = repo.sql
  // The search statement names its columns in camelCase itself: the client's snake→camel transform of
  // every key of every row cost ~2 ms of CPU per hybrid question (80 rows).
  const raw = sql.withoutTransforms()
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
   * The share of rows holding each of the tsv column's most common lexemes
   * (ANALYZE keeps up to ~1,000), and the table's row estimate. They change
   * only when the table is analysed: read at most once a minute, not per query
   * (decoding the list cost a few ms per question).
   */
  let statsCache: { readonly at: number; readonly common: string; readonly rows: number } | undefined
  const lexemeStats = Effect.suspend(() =>
    statsCache !== undefined && Date.now() - statsCache.at < STATS_TTL_MS
      ? Effect.succeed(statsCache)
      : Effect.all([
        sql<{ lexeme: string; share: number }>`
          SELECT u.lexeme, u.share FROM pg_stats s,
            unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(lexeme, share)
          WHERE s.schemaname = current_schema() AND s.tablename = 'rag_chunks' AND s.attname = 'tsv'
            AND u.lexeme IS NOT NULL`,
        sql<{ rows: number }>`SELECT GREATEST(0, reltuples)::float8 AS rows FROM pg_class WHERE oid = 'rag_chunks'::regclass`
      ]).pipe(
        Effect.orDie,
        Effect.map(([shares, rows]) => {
          const total = Number(rows[0]?.rows ?? 0)
          statsCache = {
            at: Date.now(),
            common: shares.filter((r) => Number(r.share) * total > DF_CAP).map((r) => r.lexeme).join(" "),
            rows: total
          }
          return statsCache
        })
      )
  )

  /**
   * The text leg over the question's lexemes (english stemming, stop words
   * dropped), ORed: a question need not share every word with the passage
   * (websearch_to_tsquery ANDed them, so most questions matched nothing).
   * Each lexeme weighs its BM25 inverse document frequency
   * ln(1 + (N - df + 0.5) / (df + 0.5)), df counted over the candidate rows in
   * the same scan, times its length-normalised ts_rank_cd, saturated.
   *
   * Bounded work whatever the corpus size: each lexeme brings at most
   * TEXT_ROWS_PER_LEXEME rows (GIN match with a LIMIT, no ordering), and only
   * those are ranked (at 100k chunks a question's OR match held up to ~6,000
   * rows). Below that size (every corpus of the quality set) the candidates
   * are all matching rows and the scores the unbounded ones. A lexeme the
   * planner's statistics put in more than DF_CAP rows (`common`, from the
   * cached statistics) is left out unless all are: it would fill its share of
   * candidates for almost no weight. The lexemes are computed in the
   * statement itself, not read in a round trip before it.
   */
  const textCte = (rows: number, base: Statement.Fragment, candidates: number) =>
    sql`SELECT s.id, row_number() OVER (ORDER BY s.score DESC, s.id) AS rank, s.score FROM (
        SELECT r.id, sum(ln(1 + (GREATEST(${rows}::float8, r.matched) - r.df + 0.5) / (r.df + 0.5)) * r.r / (r.r + ${TF_HALF}::float8)) AS score
        FROM (
          SELECT x.*, count(*) FILTER (WHERE x.r > 0) OVER (PARTITION BY x.lexeme) AS df
          FROM (
            SELECT cand.id, q.lexeme, ts_rank_cd(cand.tsv, q.tq, 1) AS r, count(*) OVER (PARTITION BY q.lexeme) AS matched
            FROM (
              SELECT DISTINCT ON (m.id) m.id, m.tsv FROM q CROSS JOIN LATERAL (
                SELECT c.id, c.tsv FROM rag_chunks c WHERE ${base} AND c.tsv @@ q.tq LIMIT ${TEXT_ROWS_PER_LEXEME}
              ) m
            ) cand CROSS JOIN q
          ) x
        ) r
        GROUP BY r.id ORDER BY score DESC LIMIT ${candidates}
      ) s`

  /**
   * The question's lexemes, each as a one-operand tsquery (quoted: a lexeme may hold a quote or a backslash).
   * The common lexemes travel as one space-separated string (a lexeme holds no space): as a text[]
   * parameter the driver escaped its ~1,000 elements one by one, twice per question. The question's
   * tsvector and that list are made once, for the lexemes and for their all-common check.
   */
  const lexemeCte = (query: string, common: string) =>
    sql`SELECT a.lexeme, ('''' || replace(replace(a.lexeme, '\\', '\\\\'), '''', '''''') || '''')::tsquery AS tq
      FROM (SELECT to_tsvector('english', ${query}) AS doc, string_to_array(${common}, ' ') AS common_lexemes) c,
        LATERAL (SELECT u.lexeme, u.lexeme = ANY(c.common_lexemes) AS is_common FROM unnest(c.doc) AS u) a
      WHERE NOT a.is_common OR NOT EXISTS (SELECT 1 FROM unnest(c.doc) AS u WHERE NOT (u.lexeme = ANY(c.common_lexemes)))`

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
      // Non-exact: the HNSW settings are taken by an uncorrelated sub-select in the vector leg's WHERE,
      // which PostgreSQL runs once, as a one-time filter, before the index scan reads its first
      // tuple (where pgvector reads them); transaction-local (the statement's own transaction, and
      // the embedded database is one shared session). One round trip instead of BEGIN, SET, query, COMMIT.
      const hnswSettings = options.exact ? sql`true` : sql`(SELECT set_config('hnsw.ef_search', ${
        String(Math.min(1000, Math.max(candidates, config.hnswEfSearch)))
      }, true) || set_config('hnsw.iterative_scan', 'relaxed_order', true)) IS NOT NULL`
      // The two legs are two statements, run side by side on two connections (the sum of their times
      // was the hybrid latency when they were CTEs of one statement, which PostgreSQL runs one after
      // the other); their rows are joined here by chunk id.
      const hit = (rank: Statement.Fragment) =>
        sql`SELECT c.id::text AS "chunkId", c.document_id AS "documentId", d.filename, c.chunk_index AS "chunkIndex",
          c.content, c.metadata, 1 - ((c.embedding::vector(${dim})) <=> ${vec}::vector(${dim})) AS similarity, ${rank}
          FROM l JOIN rag_chunks c ON c.id = l.id
          JOIN rag_documents d ON d.id = c.document_id AND d.project_id = ${request.projectId}`
      const vectorLeg = raw<Row>`WITH l AS (SELECT s.id, row_number() OVER (ORDER BY s.dist, s.id) AS rank FROM (
            SELECT c.id, (c.embedding::vector(${dim})) <=> ${vec}::vector(${dim}) AS dist
            FROM rag_chunks c WHERE ${base} AND c.dimension = ${dim} AND ${hnswSettings}
            ORDER BY dist LIMIT ${candidates}) s)
        ${hit(sql`l.rank::int AS "vectorRank", NULL::int AS "textRank", NULL::float8 AS "textScore"`)}`
      const stats = mode === "vector" ? undefined : yield* lexemeStats
      const textLeg = stats === undefined ? undefined : raw<Row>`
        WITH q AS (${lexemeCte(request.query, stats.common)}), l AS (${textCte(stats.rows, base, candidates)})
        ${hit(sql`NULL::int AS "vectorRank", l.rank::int AS "textRank", l.score::float8 AS "textScore"`)}`
      const legs = [...(mode === "text" ? [] : [vectorLeg]), ...(textLeg === undefined ? [] : [textLeg])]
      // Exact: index scans off for the plan, which a setting read at execution cannot change.
      const results = yield* (options.exact
        ? sql.withTransaction(Effect.zipRight(sql`SELECT set_config('enable_indexscan', 'off', true)`, Effect.all(legs)))
        : Effect.all(legs, { concurrency: "unbounded" })).pipe(Effect.orDie)
      const byId = new Map<string, Row>()
      for (const row of results.flat()) {
        const seen = byId.get(row.chunkId)
        byId.set(row.chunkId, seen === undefined ? row : {
          ...seen,
          vectorRank: seen.vectorRank ?? row.vectorRank,
          textRank: seen.textRank ?? row.textRank,
          textScore: seen.textScore ?? row.textScore
        })
      }
      const rows = [...byId.values()]
      const fused = mode === "hybrid"
        ? fuseScores(rows.map((r) => ({
          similarity: Number(r.similarity),
          textScore: r.textScore === null ? null : Number(r.textScore)
        })))
        : []
      // Equal scores (rare) go to the better text rank, then the nearer vector. Sorted as plain rows:
      // only the k kept become (validated) SearchHits.
      const rankOf = (rank: number | null) => rank ?? Number.MAX_SAFE_INTEGER
      const scored = rows
        .map((r, i) => {
          const similarity = Number(r.similarity)
          const score = mode === "hybrid" ? fused[i] : mode === "vector" ? similarity : 1 / (r.textRank ?? Infinity)
          return { row: r, similarity, score }
        })
        .filter((h) => request.minScore === undefined || h.similarity >= request.minScore)
        .sort((a, b) =>
          b.score - a.score || rankOf(a.row.textRank) - rankOf(b.row.textRank) ||
          rankOf(a.row.vectorRank) - rankOf(b.row.vectorRank)
        )
        .slice(0, k)
        .map(({ row, score, similarity }) => new SearchHit({ ...row, similarity, score }))
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
