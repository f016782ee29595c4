import { Layer } from "effect"
import { EmbeddingsLive } from "../embeddings/EmbeddingsLive.ts"
import { DocumentIngestion } from "./DocumentIngestion.ts"
import { RagConfig } from "./RagConfig.ts"
import { RagRepo } from "./RagRepo.ts"
import { RagSearchLive } from "./RagSearchLive.ts"

/**
 * The RAG services of a process: `Embeddings` (+ stats), `RagSearch`,
 * `DocumentIngestion`, `RagRepo`. Needs SqlClient, VectorSupport and EventBus.
 * Provided once by the platform so the HTTP group, the ingestion entity, the
 * rag_search tool and semantic search elsewhere share one embedder.
 */
export const RagLive = Layer.mergeAll(DocumentIngestion.Default, RagSearchLive).pipe(
  Layer.provideMerge(RagRepo.Default),
  Layer.provideMerge(RagConfig.layer),
  Layer.provideMerge(EmbeddingsLive)
)
