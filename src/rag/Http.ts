import { FileSystem, HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { EmbeddingsStats } from "../embeddings/EmbeddingsStats.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { BadRequest, PayloadTooLarge, ServiceUnavailable } from "../kernel/WireErrors.ts"
import { UnprocessableDocument, UnsupportedDocumentType } from "../domain/api/RagApi.ts"
import { type DocumentRejected, DocumentIngestion } from "./DocumentIngestion.ts"
import { RagIngestion } from "./IngestionEntity.ts"
import { RagRepo } from "./RagRepo.ts"
import { queryRag, unavailable, visibleDocument } from "./RagAccess.ts"
import { disabledMessage, ragEnabled } from "./RagSearchLive.ts"

const rejected = (e: DocumentRejected) =>
  e.reason === "TooLarge"
    ? new PayloadTooLarge({ message: e.message })
    : e.reason === "Unsupported"
    ? new UnsupportedDocumentType({ message: e.message })
    : new UnprocessableDocument({ message: e.message, reason: e.reason })

export const RagHttpLive = HttpApiBuilder.group(PlatformApi, "rag", (handlers) =>
  Effect.gen(function*() {
    const ingestion = yield* DocumentIngestion
    const repo = yield* RagRepo
    const enabled = yield* ragEnabled
    const embeddingStats = yield* EmbeddingsStats
    const ingestJobs = yield* RagIngestion.client

    return handlers
      .handle("uploadDocument", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          yield* ensureQuota("documentsPerProject", payload.projectId)
          const fs = yield* FileSystem.FileSystem
          // The file is read into memory only once the upload holds one of its project's slots.
          const accepted = yield* ingestion.withUploadSlot(
            payload.projectId,
            Effect.gen(function*() {
              const bytes = yield* fs.readFile(payload.file.path).pipe(
                Effect.mapError(() => new BadRequest({ message: "the uploaded file could not be read" }))
              )
              return yield* ingestion.accept({
                projectId: payload.projectId,
                filename: payload.file.name,
                contentType: payload.file.contentType,
                bytes,
                ...(payload.metadata ? { metadata: payload.metadata } : {})
              })
            })
          ).pipe(
            Effect.catchTags({ DocumentRejected: (e) => Effect.fail(rejected(e)), RagUnavailable: (e) => Effect.fail(unavailable(e)) })
          )
          if (!accepted.deduplicated) {
            // Persisted before we answer: the ingestion survives a crash from here on.
            yield* ingestJobs(accepted.document.id).Ingest({ documentId: accepted.document.id }, { discard: true }).pipe(
              Effect.orDie
            )
          }
          return accepted
        }))
      .handle("listDocuments", ({ urlParams }) =>
        Effect.gen(function*() {
          const ids = urlParams.projectId === undefined
            ? yield* visibleProjectIds
            : yield* Effect.as(requireProjectRole(urlParams.projectId, "viewer"), [urlParams.projectId])
          const documents = yield* repo.list(ids, { limit: urlParams.limit ?? 100, offset: urlParams.offset ?? 0 })
          return { documents }
        }))
      .handle("getDocument", ({ path }) => visibleDocument(path.id))
      .handle("deleteDocument", ({ path }) =>
        Effect.gen(function*() {
          const doc = yield* visibleDocument(path.id)
          yield* requireProjectRole(doc.projectId, "developer")
          yield* repo.remove(doc.projectId, doc.id)
        }))
      .handle("query", ({ payload }) => queryRag(payload))
      .handle("embeddingStats", ({ urlParams }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(urlParams.projectId, "viewer")
          if (!enabled) return yield* new ServiceUnavailable({ message: disabledMessage })
          const counters = yield* embeddingStats.snapshot
          const totals = yield* repo.stats(urlParams.projectId)
          const collections = yield* repo.collections(urlParams.projectId)
          return {
            projectId: urlParams.projectId,
            modelId: counters.modelId,
            provider: counters.provider,
            dimension: counters.dimension,
            documents: totals.documents,
            readyDocuments: totals.ready,
            chunks: totals.chunks,
            collections: collections.map((c) => ({ ...c, searchable: c.modelId === counters.modelId })),
            cache: {
              persistentEntries: totals.cacheEntries,
              memoryEntries: counters.cacheEntries,
              hits: counters.cacheHits,
              textsEmbedded: counters.textsEmbedded,
              batches: counters.batches
            }
          }
        }))
  })).pipe(Layer.provide(RagRepo.Default))
