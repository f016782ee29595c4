/**
 * The RAG benchmark's native server: a PostgreSQL 15 of its own (initdb in a
 * temp dir, own port, fsync on), configured as the README recommends for a
 * vector store, instead of the shared server on 5432 with the stock settings
 * (shared_buffers 128MB, maintenance_work_mem 64MB): at 1M chunks the heap
 * and the HNSW index are ~2 GB, so every query of the stock server went
 * through buffer eviction, and the bulk HNSW build had 64MB (or what the
 * bench set per session) for its graph. pgvector is the machine's (installed
 * into the system PostgreSQL 15 by `../shared/tools/install-pgvector`).
 *
 * Sizes follow the corpus: shared_buffers ~4 KB per chunk (heap ~1 KB, HNSW
 * m=16 ~0.75 KB, GIN and btrees, with room), the HNSW build's
 * maintenance_work_mem ~2 KB per chunk (the in-memory graph; a graph that
 * outgrows it continues on disk, far slower). Each can be overridden.
 */
import { SQL } from "bun"
import { type PrivatePostgres, startPrivatePostgres } from "../../support/privatePostgres.ts"

const mb = (bytes: number) => `${Math.max(1, Math.ceil(bytes / 1024 / 1024))}MB`

/** The settings of the bench's server for a corpus of `chunks` chunks (env overrides). */
export const ragServerSettings = (chunks: number): Record<string, string> => {
  const sharedBuffers = process.env.RAG_BENCH_PG_SHARED_BUFFERS ?? mb(Math.max(256 * 1024 * 1024, chunks * 4096))
  return {
    shared_buffers: sharedBuffers,
    // Build-time memory for the HNSW graph (also what CREATE INDEX gets without a session setting).
    maintenance_work_mem: process.env.RAG_BENCH_MAINTENANCE_WORK_MEM ?? mb(Math.max(256 * 1024 * 1024, chunks * 2048)),
    effective_cache_size: mb(Math.max(1024 * 1024 * 1024, chunks * 8192)),
    // The leader builds too: one worker per remaining core.
    max_parallel_maintenance_workers: process.env.RAG_BENCH_PARALLEL_MAINTENANCE ?? "1",
    // Short queries with large cost estimates (an HNSW scan over 1M rows) must not pay for JIT compilation.
    jit: "off",
    // A bulk load and an index build write GBs of WAL: fewer forced checkpoints.
    max_wal_size: "8GB",
    checkpoint_timeout: "15min"
  }
}

export interface RagServer {
  readonly server: PrivatePostgres
  readonly settings: Record<string, string>
  /** A fresh database on the server; `drop` removes it. */
  readonly database: (name: string) => Promise<{ readonly name: string; readonly url: string; readonly drop: () => Promise<void> }>
  readonly stop: () => Promise<void>
}

export const startRagServer = async (chunks: number): Promise<RagServer> => {
  const settings = ragServerSettings(chunks)
  const server = await startPrivatePostgres({ durable: true, settings })
  const admin = (f: (sql: SQL) => Promise<unknown>) => {
    const sql = new SQL(server.url)
    return f(sql).finally(() => sql.close())
  }
  return {
    server,
    settings,
    database: async (name) => {
      await admin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
      return {
        name,
        url: server.url.replace(/\/[^/]*$/, `/${name}`),
        drop: () => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
      }
    },
    stop: () => server.remove()
  }
}
