import { Workflow } from "@effect/workflow"
import { Schema } from "effect"
import { WorkflowRunFailed } from "../src/domain/WorkflowErrors.ts"

/**
 * The one durable workflow behind every run of every user-defined workflow:
 * its payload names a `workflow_executions` row, whose pinned definition the
 * interpreter walks (src/workflows/Interpreter.ts). Each action step is
 * journaled in that row under a key derived from its position
 * (src/workflows/StepJournal.ts), so a restarted run replays finished steps
 * instead of re-running them.
 *
 * The execution id is derived from the run id: executing the same run twice
 * is the same execution.
 */
export const WorkflowRun = Workflow.make({
  name: "WorkflowRun",
  payload: { runId: Schema.String },
  success: Schema.Unknown,
  error: WorkflowRunFailed,
  idempotencyKey: ({ runId }) => runId
})

/** What an approval step waits for; sent by POST /workflows/runs/{runId}/signal. */
export const ApprovalDecision = Schema.Struct({
  approved: Schema.Boolean,
  comment: Schema.optional(Schema.String),
  by: Schema.optional(Schema.String),
  data: Schema.optional(Schema.Unknown)
})
export type ApprovalDecision = typeof ApprovalDecision.Type
