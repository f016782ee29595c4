import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

/**
 * Durable ingestion of one accepted document (entity id = document id).
 * Persisted: a message accepted before a crash is delivered again after the
 * restart, and the handler resumes from the chunks already stored.
 */
export const RagIngestion = Entity.make("RagIngestion", [
  Rpc.make("Ingest", {
    payload: { documentId: Schema.String },
    success: Schema.Struct({ documentId: Schema.String, status: Schema.String, chunkCount: Schema.Number }),
    // The same document twice is one job.
    primaryKey: (p) => p.documentId
  }).annotate(ClusterSchema.Persisted, true)
])
