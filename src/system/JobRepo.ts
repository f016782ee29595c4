import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { JobRecord } from "../domain/Job.ts"

const Row = Schema.Struct({
  jobId: Schema.String,
  attempts: Schema.Int,
  status: Schema.Literal("running", "completed"),
  completedAt: Schema.NullOr(Schema.DateFromSelf)
})

export class JobRepo extends Effect.Service<JobRepo>()("System/JobRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Row)
    const toRecord = (row: unknown) =>
      decode(row).pipe(Effect.map((r) => new JobRecord(r)), Effect.orDie)

    const markStarted = (jobId: string) =>
      sql`
        INSERT INTO durable_jobs (job_id, attempts, status) VALUES (${jobId}, 1, 'running')
        ON CONFLICT (job_id) DO UPDATE SET attempts = durable_jobs.attempts + 1
        RETURNING job_id, attempts, status, completed_at`.pipe(
        Effect.flatMap((rows) => toRecord(rows[0])),
        Effect.orDie
      )

    const markCompleted = (jobId: string) =>
      sql`
        UPDATE durable_jobs SET status = 'completed', completed_at = COALESCE(completed_at, now())
        WHERE job_id = ${jobId}
        RETURNING job_id, attempts, status, completed_at`.pipe(
        Effect.flatMap((rows) => toRecord(rows[0])),
        Effect.orDie
      )

    const find = (jobId: string) =>
      sql`SELECT job_id, attempts, status, completed_at FROM durable_jobs WHERE job_id = ${jobId}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(toRecord(rows[0]), Option.some))
      )

    return { markStarted, markCompleted, find } as const
  })
}) {}
