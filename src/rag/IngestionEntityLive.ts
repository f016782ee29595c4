import { Effect, Layer, Schedule } from "effect"
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
      const repo = yield* RagRepo
      return RagIngestion.of({
        Ingest: ({ payload }) =>
          ingestion.process(payload.documentId).pipe(
            // Defects here are outages (database, worker): retry (the job resumes from the stored
            // chunks), then give up visibly rather than leave the document "processing" forever.
            Effect.catchAllDefect((defect) => Effect.fail(defect)),
            Effect.retry(Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(3)))),
            Effect.catchAll((defect) =>
              Effect.logError("document ingestion failed", defect).pipe(
                Effect.zipRight(repo.markFailed(payload.documentId, "ingestion failed: internal error")),
                Effect.as({ documentId: payload.documentId, status: "failed", chunkCount: 0 })
              )
            )
          )
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
