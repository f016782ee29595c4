import { Data, Effect, Option, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"
import { Embeddings } from "../embeddings/Embeddings.ts"
import { contentHash } from "../embeddings/EmbeddingsStats.ts"
import { EventBus } from "../events/EventBus.ts"
import { countedSlots } from "../kernel/CountedSlots.ts"
import { TooManyRequests } from "../kernel/WireErrors.ts"
import { type Chunk, chunkSections } from "./Chunking.ts"
import { detectKind, extractSections, kindContentType } from "./Extraction.ts"
import { RagConfig } from "./RagConfig.ts"
import { RagRepo } from "./RagRepo.ts"
import { type RagDocument } from "../domain/Rag.ts"
import { RagUnavailable } from "./RagSearch.ts"
import { disabledMessage, ragEnabled } from "./RagSearchLive.ts"

/** Why an upload was refused. Nothing is stored for a rejected upload. */
export class DocumentRejected extends Data.TaggedError("DocumentRejected")<{
  readonly reason: "Unsupported" | "Empty" | "Corrupt" | "Encrypted" | "TooLarge"
  readonly message: string
}> {}

export interface Upload {
  readonly projectId: string
  readonly filename: string
  readonly contentType: string
  readonly bytes: Uint8Array
  readonly metadata?: Record<string, unknown>
}

export const ingestionTopic = (documentId: string) => `rag/documents/${documentId}`

/** The text the embedder sees: the heading gives a chunk its context. */
const embeddingText = (chunk: Chunk) => chunk.metadata.heading ? `${chunk.metadata.heading}\n\n${chunk.content}` : chunk.content

/**
 * Upload → validated, extracted, de-duplicated document (synchronous, so bad
 * input is a 4xx and leaves nothing behind) → chunks embedded in batches and
 * stored (`process`, run by the durable `RagIngestion` entity), with progress
 * events on `rag/documents/<id>`.
 */
export class DocumentIngestion extends Effect.Service<DocumentIngestion>()("Rag/DocumentIngestion", {
  effect: Effect.gen(function*() {
    const repo = yield* RagRepo
    const embeddings = yield* Embeddings
    const events = yield* EventBus
    const enabled = yield* ragEnabled
    const config = yield* RagConfig
    const uploadSlots = countedSlots(config.extractMaxPendingPerProject)

    /**
     * Runs an upload (reading its file, extracting it) holding one of its project's slots.
     * Extraction is one queue per node (`extractConcurrency` workers): without a share per
     * project, one project's uploads, each holding up to `maxDocumentBytes` while it waits,
     * would fill memory and make every other project's upload wait behind them.
     */
    const withUploadSlot = <A, E, R>(projectId: string, upload: Effect.Effect<A, E, R>) =>
      uploadSlots.holding(projectId, upload, () =>
        new TooManyRequests({
          message: `too many uploads of this project being processed (at most ${config.extractMaxPendingPerProject}); retry when one has finished`,
          retryAfterSeconds: 1
        }))

    const accept = Effect.fn("DocumentIngestion.accept")(function*(upload: Upload) {
      if (!enabled) return yield* new RagUnavailable({ message: disabledMessage })
      if (upload.bytes.length > config.maxDocumentBytes) {
        return yield* new DocumentRejected({
          reason: "TooLarge",
          message: `the document is ${upload.bytes.length} bytes; the limit is ${config.maxDocumentBytes}`
        })
      }
      const kind = yield* detectKind(upload.filename, upload.contentType, upload.bytes)
      const hash = createHash("sha256").update(upload.bytes).digest("hex")
      const existing = yield* repo.findByHash(upload.projectId, hash)
      if (Option.isSome(existing)) return { document: existing.value, deduplicated: true }
      const sections = yield* extractSections(kind, upload.bytes, config)
      const collectionId = yield* repo.ensureCollection(upload.projectId, embeddings.modelId, embeddings.dimension)
      const inserted = yield* repo.insertDocument({
        id: `doc_${crypto.randomUUID().replaceAll("-", "")}`,
        projectId: upload.projectId,
        filename: upload.filename.slice(0, 255) || "document",
        contentType: kindContentType[kind],
        contentHash: hash,
        sizeBytes: upload.bytes.length,
        collectionId,
        metadata: { ...upload.metadata, kind, sections: sections.length },
        sections
      })
      if (Option.isSome(inserted)) return { document: inserted.value, deduplicated: false }
      // The same content was uploaded concurrently: that upload won.
      const winner = yield* repo.findByHash(upload.projectId, hash)
      return { document: Option.getOrThrow(winner), deduplicated: true }
    }, Effect.catchTag("ExtractionError", (e) => Effect.fail(new DocumentRejected({ reason: e.reason, message: e.message }))))

    const publish = (doc: RagDocument, type: string, data: Record<string, unknown>) =>
      events.publish({ topic: ingestionTopic(doc.id), type, projectId: doc.projectId, data: { documentId: doc.id, ...data } })

    /** Embeds and stores what is not stored yet; safe to re-run after a crash at any point. */
    const process = Effect.fn("DocumentIngestion.process")(function*(documentId: string) {
      const found = yield* repo.findById(documentId)
      if (Option.isNone(found)) return { documentId, status: "deleted", chunkCount: 0 }
      const doc = found.value
      const sections = yield* repo.loadSections(documentId)
      if (Option.isNone(sections) || doc.status === "ready" || doc.status === "failed") {
        return { documentId, status: doc.status, chunkCount: doc.chunkCount }
      }
      const collection = yield* repo.ensureCollection(doc.projectId, embeddings.modelId, embeddings.dimension)
      if (collection !== doc.collectionId) {
        return yield* Effect.fail(`document ${documentId} was accepted for another embedding model`)
      }
      const chunks = chunkSections(sections.value, {
        maxTokens: config.chunkMaxTokens,
        overlapTokens: config.chunkOverlapTokens
      })
      const storedIndexes = yield* repo.storedChunkIndexes(documentId)
      let stored = storedIndexes.size
      yield* repo.setStatus(documentId, { status: "processing", chunkCount: chunks.length, chunksEmbedded: stored })
      yield* publish(doc, "rag.ingestion.started", { chunkCount: chunks.length, chunksEmbedded: stored })
      const target = { id: doc.id, projectId: doc.projectId, collectionId: collection, dimension: embeddings.dimension }
      // A resumed job embeds only the chunks not stored yet (batches may have committed out of order).
      const missing = chunks.filter((c) => !storedIndexes.has(c.index))
      const batches: Array<Array<Chunk>> = []
      for (let i = 0; i < missing.length; i += config.ingestBatchSize) {
        batches.push(missing.slice(i, i + config.ingestBatchSize))
      }
      // Local models re-embed faster than the database can look vectors up; paid
      // providers do not: only their vectors go to the persistent cache.
      const persistentCache = !embeddings.modelId.startsWith("local/")
      const embedBatch = (batch: ReadonlyArray<Chunk>) =>
        Effect.gen(function*() {
          const texts = batch.map(embeddingText)
          const hashes = texts.map(contentHash)
          const cached = persistentCache
            ? yield* repo.cacheGet(embeddings.modelId, hashes)
            : new Map<string, Float32Array>()
          const missing = texts.flatMap((t, i) => (cached.has(hashes[i]) ? [] : [i]))
          const fresh = yield* embeddings.embed(missing.map((i) => texts[i])).pipe(
            // A provider asking us to slow down is not a reason to fail the document.
            Effect.retry({
              while: (e) => e.reason === "RateLimited",
              schedule: Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(6)))
            })
          )
          const added = missing.map((i, j) => ({ hash: hashes[i], embedding: fresh[j] }))
          for (const a of added) cached.set(a.hash, a.embedding)
          return {
            added: persistentCache ? added : [],
            rows: batch.map((c, i) => ({ ...c, contentHash: hashes[i], embedding: cached.get(hashes[i])! }))
          }
        })
      // Embedding batch n+1 (in the embedder's worker thread, or provider I/O) overlaps writing batch n,
      // and two batches are written side by side on two connections: a batch's write (HNSW insertion
      // above all) cost more than embedding it, and one connection left the database's share of the
      // second core idle while the statement was prepared, sent and committed.
      yield* Stream.fromIterable(batches).pipe(
        Stream.mapEffect(embedBatch),
        Stream.buffer({ capacity: 2 }),
        Stream.mapEffect(({ added, rows }) =>
          Effect.gen(function*() {
            yield* repo.storeBatch(target, rows, { modelId: embeddings.modelId, entries: added })
            stored += rows.length
            yield* publish(doc, "rag.ingestion.progress", { chunkCount: chunks.length, chunksEmbedded: stored })
          }), { concurrency: 2 }),
        Stream.runDrain
      )
      yield* repo.markReady(documentId, chunks.length)
      yield* publish(doc, "rag.ingestion.completed", { chunkCount: chunks.length })
      return { documentId, status: "ready", chunkCount: chunks.length }
    }, (effect, documentId) =>
      effect.pipe(
        Effect.catchAll((e) => {
          const message = typeof e === "string" ? e : e.message
          return repo.markFailed(documentId, message).pipe(
            Effect.zipRight(repo.findById(documentId)),
            Effect.flatMap((doc) =>
              events.publish({
                topic: ingestionTopic(documentId),
                type: "rag.ingestion.failed",
                projectId: Option.match(doc, { onNone: () => null, onSome: (d) => d.projectId }),
                data: { documentId, error: message }
              })
            ),
            Effect.as({ documentId, status: "failed", chunkCount: 0 })
          )
        })
      ))

    return { accept, process, withUploadSlot } as const
  })
}) {}
