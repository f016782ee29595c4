import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * RAG storage. Document bookkeeping works on any Postgres; the vector tables
 * exist only where pgvector is installed (a stock PostgreSQL 15 still
 * migrates, and `VectorSupport` + VECTOR_STORE decide whether RAG answers 503).
 *
 * Vectors of every model share one `embedding vector` column (no fixed size):
 * each row records `model_id` and `dimension`, and the HNSW index is a
 * partial expression index per dimension, created by the store the first time
 * a collection of that size appears (`rag_chunks_hnsw_d<N>`).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE rag_documents ADD COLUMN IF NOT EXISTS collection_id TEXT`
  yield* sql`ALTER TABLE rag_documents ADD COLUMN IF NOT EXISTS chunks_embedded INTEGER NOT NULL DEFAULT 0`
  yield* sql`CREATE INDEX IF NOT EXISTS rag_documents_project_idx ON rag_documents (project_id, created_at DESC)`
  // Extracted text waiting for (or being) embedded: what a resumed ingestion reads. Dropped when done.
  yield* sql`
    CREATE TABLE IF NOT EXISTS rag_document_sources (
      document_id  TEXT PRIMARY KEY REFERENCES rag_documents(id) ON DELETE CASCADE,
      sections     JSONB NOT NULL
    )`
  const vector = yield* sql`SELECT 1 FROM pg_extension WHERE extname = 'vector'`
  if (vector.length === 0) return
  yield* sql`
    CREATE TABLE IF NOT EXISTS rag_collections (
      id          TEXT PRIMARY KEY,
      project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      model_id    TEXT NOT NULL,
      dimension   INTEGER NOT NULL CHECK (dimension > 0),
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (project_id, model_id)
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS rag_chunks (
      id             BIGSERIAL PRIMARY KEY,
      document_id    TEXT NOT NULL REFERENCES rag_documents(id) ON DELETE CASCADE,
      project_id     TEXT NOT NULL,
      collection_id  TEXT NOT NULL REFERENCES rag_collections(id) ON DELETE CASCADE,
      chunk_index    INTEGER NOT NULL,
      content        TEXT NOT NULL,
      content_hash   TEXT NOT NULL,
      token_count    INTEGER NOT NULL,
      metadata       JSONB NOT NULL DEFAULT '{}',
      dimension      INTEGER NOT NULL,
      embedding      vector NOT NULL,
      tsv            tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
      UNIQUE (document_id, chunk_index)
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS rag_chunks_collection_idx ON rag_chunks (collection_id)`
  yield* sql`CREATE INDEX IF NOT EXISTS rag_chunks_tsv_idx ON rag_chunks USING gin (tsv)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS rag_embedding_cache (
      model_id      TEXT NOT NULL,
      content_hash  TEXT NOT NULL,
      embedding     vector NOT NULL,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (model_id, content_hash)
    )`
})
