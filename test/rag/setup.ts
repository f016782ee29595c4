import { SqlClient } from "@effect/sql"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Option, Redacted } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../src/db/Database.ts"
import { VectorSupport } from "../../src/db/VectorSupport.ts"
import { EmbeddingsConfig, type EmbeddingsConfigShape } from "../../src/embeddings/EmbeddingsConfig.ts"
import { EmbeddingsFromConfig } from "../../src/embeddings/EmbeddingsLive.ts"
import { EventBus } from "../../src/events/EventBus.ts"
import { DocumentIngestion } from "../../src/rag/DocumentIngestion.ts"
import { RagConfig, type RagConfigShape } from "../../src/rag/RagConfig.ts"
import { RagRepo } from "../../src/rag/RagRepo.ts"
import { RagSearchLive } from "../../src/rag/RagSearchLive.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * The RAG services over a fresh embedded database (PGlite + pgvector), or the
 * PostgreSQL at `databaseUrl` (native pgvector), the real offline embedder and
 * the in-process event bus: no HTTP, no cluster.
 */
export const makeRagRuntime = async (
  rag: Partial<RagConfigShape> = {},
  app: {
    readonly sharedBuffers?: string
    readonly databaseUrl?: string
    /** Another embedder (e.g. a provider pointed at a local fake server); the offline default otherwise. */
    readonly embeddings?: Partial<EmbeddingsConfigShape>
  } = {}
) => {
  const tmp = makeTempDir("rag")
  if (app.databaseUrl === undefined) await seedDataDir(tmp.dir)
  const appConfig = AppConfig.layerWith({
    dataDir: tmp.dir,
    ...(app.sharedBuffers !== undefined ? { embeddedSharedBuffers: app.sharedBuffers } : {}),
    ...(app.databaseUrl !== undefined ? { databaseUrl: Option.some(Redacted.make(app.databaseUrl)) } : {})
  })
  const db = DatabaseLive.pipe(Layer.provide(appConfig))
  const layer = Layer.mergeAll(DocumentIngestion.Default, RagSearchLive).pipe(
    Layer.provideMerge(RagRepo.Default),
    Layer.provideMerge(EmbeddingsFromConfig.pipe(Layer.provide(EmbeddingsConfig.layerWith(app.embeddings ?? {})))),
    Layer.provideMerge(EventBus.inProcess),
    Layer.provideMerge(RagConfig.layerWith(rag)),
    Layer.provideMerge(VectorSupport.Default),
    Layer.provideMerge(db),
    Layer.provideMerge(appConfig),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
  const runtime = ManagedRuntime.make(layer)
  return {
    runtime,
    dispose: async () => {
      await runtime.dispose()
      tmp.remove()
    }
  }
}

/**
 * Where the RAG suites run: the embedded database, and a fresh database on the
 * local PostgreSQL 15 with native pgvector (`.ci/run` installs it).
 */
export const ragBackends = [
  { name: "PGlite + pgvector", open: (rag: Partial<RagConfigShape> = {}) => makeRagRuntime(rag) },
  {
    name: "PostgreSQL 15 + native pgvector",
    open: async (rag: Partial<RagConfigShape> = {}) => {
      const db = await createTestDatabase("rag")
      const runtime = await makeRagRuntime(rag, { databaseUrl: db.url }).catch(async (e) => {
        await db.drop()
        throw e
      })
      return {
        ...runtime,
        dispose: async () => {
          await runtime.dispose()
          await db.drop()
        }
      }
    }
  }
] as const

/** A user and the projects RAG rows hang off (foreign keys). */
export const createProjects = (...projectIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const userId = `u_${crypto.randomUUID()}`
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES (${userId}, ${`${userId}@example.test`}, 'x')`
    for (const id of projectIds) {
      yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${id}, ${id}, ${userId})`
    }
  })
