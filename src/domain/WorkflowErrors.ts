import { Data, Schema } from "effect"

/**
 * A step's failure as journaled by the durable engine (it must be a Schema).
 * `retryable: false` stops the step's retries early (bad arguments, a 4xx,
 * a backend that is not configured, a rejected approval).
 */
export class StepFailed extends Schema.TaggedError<StepFailed>()("StepFailed", {
  stepId: Schema.String,
  message: Schema.String,
  retryable: Schema.Boolean
}) {}

/** Why a run failed, as its result and in workflow_executions.error. */
export class WorkflowRunFailed extends Schema.TaggedError<WorkflowRunFailed>()("WorkflowRunFailed", {
  stepId: Schema.NullOr(Schema.String),
  message: Schema.String,
  attempts: Schema.Int
}) {}

/** Failure of a step backend (port), before it becomes a `StepFailed`. */
export class BackendError extends Data.TaggedError("BackendError")<{
  readonly message: string
  readonly retryable: boolean
}> {}

/** A step whose backend (agents, RAG, SQL, tools) is not wired into this process. */
export class BackendNotConfigured extends Data.TaggedError("BackendNotConfigured")<{
  readonly backend: string
}> {
  override get message() {
    return `the ${this.backend} backend is not configured in this deployment`
  }
}
