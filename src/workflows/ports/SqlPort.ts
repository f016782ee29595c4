import { Context, type Effect } from "effect"
import type { BackendError } from "../../domain/WorkflowErrors.ts"

export interface SqlQuery {
  readonly projectId: string
  readonly connectionId: string
  readonly query: string
  readonly params: ReadonlyArray<unknown>
}

/** What a workflow's `sql` step needs from the SQL tool service (its guard applies). */
export class WorkflowSqlPort extends Context.Tag("Workflows/SqlPort")<
  WorkflowSqlPort,
  { readonly query: (request: SqlQuery) => Effect.Effect<unknown, BackendError> }
>() {}
