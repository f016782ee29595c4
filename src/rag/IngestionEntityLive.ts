import { Effect, Layer } from "effect"
import { DocumentIngestion } from "./DocumentIngestion.ts"
import { RagIngestion } from "./IngestionEntity.ts"
import { RagRepo } from "./RagRepo.ts"

/**
 * Hosts `RagIngestion`. Documents accepted but never finished (the process
 * died between storing the document and enqueueing its job) are enqueued
 * again at start-up; the entity's primary key makes that a no-op for jobs
 * that are already queued.
 */
export const RagIngestionLive = Layer.merge(
  RagIngestion.toLayer(
    Effect.gen(function*() {
      const ingestion = yield* DocumentIngestion
      return RagIngestion.of({
        Ingest: ({ payload }) => ingestion.process(payload.documentId)
      })
    }),
    // Documents are embedded one at a time per document id; many documents run side by side.
    { maxIdleTime: "30 seconds", concurrency: 1 }
  ),
  Layer.effectDiscard(
    Effect.gen(function*() {
      const repo = yield* RagRepo
      const client = yield* RagIngestion.client
      const pending = yield* repo.unfinished
      yield* Effect.forEach(pending, (documentId) =>
        client(documentId).Ingest({ documentId }, { discard: true }), { discard: true }).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("could not re-enqueue unfinished ingestions", cause)),
        Effect.forkDaemon
      )
    })
  )
)
