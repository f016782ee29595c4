import { Schema } from "effect"

export const JobRequest = Schema.Struct({
  jobId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  durationMs: Schema.Int.pipe(Schema.between(0, 600_000))
})

export class JobRecord extends Schema.Class<JobRecord>("JobRecord")({
  jobId: Schema.String,
  attempts: Schema.Int,
  status: Schema.Literal("running", "completed"),
  completedAt: Schema.NullOr(Schema.Date)
}) {}
