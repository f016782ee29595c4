import { Layer } from "effect"
import { DocumentIngestion } from "./DocumentIngestion.ts"
import { RagConfig } from "./RagConfig.ts"
import { RagRepo } from "./RagRepo.ts"
import { RagSearchLive } from "./RagSearchLive.ts"

/**
 * The RAG services of a process: `RagSearch`,
 * `DocumentIngestion`, `RagRepo`. Needs SqlClient, VectorSupport, EventBus and
 * the process's `Embeddings`, which the platform provides once so the HTTP group,
 * the ingestion entity, the rag_search tool and semantic search elsewhere share one embedder.
 */
export const RagLive = Layer.mergeAll(DocumentIngestion.Default, RagSearchLive).pipe(
  Layer.provideMerge(RagRepo.Default),
  Layer.provideMerge(RagConfig.layer)
)
