import { Context, type Effect } from "effect"
import type { BackendError } from "../../domain/WorkflowErrors.ts"

export interface RagQuery {
  readonly projectId: string
  readonly query: string
  readonly topK: number
}

/** What a workflow's `rag` step needs from the RAG service (retrieval only). */
export class WorkflowRagPort extends Context.Tag("Workflows/RagPort")<
  WorkflowRagPort,
  { readonly query: (request: RagQuery) => Effect.Effect<unknown, BackendError> }
>() {}
