import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { JobRecord } from "../domain/Job.ts"

const Row = Schema.Struct({
  jobId: Schema.String,
  projectId: Schema.String,
  attempts: Schema.Int,
  status: Schema.Literal("running", "completed"),
  completedAt: Schema.NullOr(Schema.DateFromSelf)
})

/** Durable job rows, keyed by (project, job id): `""` is the service principal's scope. */
export class JobRepo extends Effect.Service<JobRepo>()("System/JobRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Row)
    const toRecord = (row: unknown) =>
      decode(row).pipe(Effect.map((r) => new JobRecord(r)), Effect.orDie)
    const firstRecord = (rows: ReadonlyArray<unknown>) =>
      rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(toRecord(rows[0]), Option.some)

    const markStarted = (scope: string, jobId: string, createdBy: string | null) =>
      sql`
        INSERT INTO durable_jobs (project_id, job_id, created_by, attempts, status)
        VALUES (${scope}, ${jobId}, ${createdBy}, 1, 'running')
        ON CONFLICT (project_id, job_id) DO UPDATE SET attempts = durable_jobs.attempts + 1
        RETURNING job_id, project_id, attempts, status, completed_at`.pipe(
        Effect.flatMap((rows) => toRecord(rows[0])),
        Effect.orDie
      )

    const markCompleted = (scope: string, jobId: string) =>
      sql`
        UPDATE durable_jobs SET status = 'completed', completed_at = COALESCE(completed_at, now())
        WHERE project_id = ${scope} AND job_id = ${jobId}
        RETURNING job_id, project_id, attempts, status, completed_at`.pipe(
        Effect.flatMap((rows) => toRecord(rows[0])),
        Effect.orDie
      )

    /** The job in one of `scopes` (the caller's projects), the most recent when several hold the id. */
    const find = (scopes: ReadonlyArray<string>, jobId: string) =>
      scopes.length === 0
        ? Effect.succeed(Option.none<JobRecord>())
        : sql`
            SELECT job_id, project_id, attempts, status, completed_at FROM durable_jobs
            WHERE job_id = ${jobId} AND project_id IN ${sql.in(scopes)}
            ORDER BY started_at DESC LIMIT 1`.pipe(Effect.orDie, Effect.flatMap(firstRecord))

    return { markStarted, markCompleted, find } as const
  })
}) {}
