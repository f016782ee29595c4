import { Context, Data, Effect, Schema } from "effect"
import { SearchRequest, SearchResult } from "../domain/Rag.ts"

/** RAG cannot answer: no vector store (VECTOR_STORE=disabled / no pgvector) or no embedder. */
export class RagUnavailable extends Data.TaggedError("RagUnavailable")<{ readonly message: string }> {}

export interface RagSearchShape {
  /**
   * The `k` chunks of `projectId`'s documents most relevant to `query`.
   * Authorisation is the caller's job (HTTP: requireProjectRole(projectId, "viewer");
   * the rag_search tool: the agent's own project): this only scopes to the project.
   */
  readonly search: (request: SearchRequest) => Effect.Effect<SearchResult, RagUnavailable>
}

/**
 * Retrieval over a project's documents (contract). Wrapped by the `rag_search`
 * built-in tool and the A2A skill; implemented by `RagSearchLive`.
 */
export class RagSearch extends Context.Tag("Rag/RagSearch")<RagSearch, RagSearchShape>() {}
