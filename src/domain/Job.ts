import { Schema } from "effect"
import { SqlText } from "../kernel/SqlText.ts"

// SqlText: a job id reaches the entity's SQL; over the RPC WebSocket no body guard sees it first.
export const JobRequest = Schema.Struct({
  jobId: SqlText.pipe(Schema.minLength(1), Schema.maxLength(128)),
  durationMs: Schema.Int.pipe(Schema.between(0, 600_000)),
  /** The job's project; may be left out by a caller who is a member of exactly one project. */
  projectId: Schema.optional(SqlText.pipe(Schema.minLength(1), Schema.maxLength(128)))
})

/**
 * What the DurableJob entity runs: the request with its resolved scope (`""`: the service
 * principal's own jobs) and who asked. Optional so messages persisted before scoping decode.
 */
export const JobRun = Schema.Struct({
  jobId: JobRequest.fields.jobId,
  durationMs: JobRequest.fields.durationMs,
  projectId: Schema.optional(Schema.String),
  createdBy: Schema.optional(Schema.NullOr(Schema.String))
})

/**
 * The entity id of a job: `<project>/<jobId>` (one entity per project and id, so tenants never
 * queue behind each other). Project ids hold no `/`, so the first one separates the two.
 */
export const jobEntityId = (scope: string, jobId: string) => `${scope}/${jobId}`

export class JobRecord extends Schema.Class<JobRecord>("JobRecord")({
  jobId: Schema.String,
  /** The owning project; empty for the service principal's jobs. */
  projectId: Schema.String,
  attempts: Schema.Int,
  status: Schema.Literal("running", "completed"),
  completedAt: Schema.NullOr(Schema.Date)
}) {}
