import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { COMMIT_WITHOUT_FLUSH_WAIT, SeparateDatabaseServer } from "../db/CommitWithoutFlushWait.ts"
import { groupCommit } from "../db/GroupCommit.ts"
import { RunStatus, WorkflowRecord, RunRecord } from "../domain/Workflow.ts"

// Rows carry Date objects: decode against the classes' type side, then construct.
const decodeWorkflowRow = Schema.decodeUnknown(Schema.typeSchema(Schema.Struct(WorkflowRecord.fields)))
const decodeRunRow = Schema.decodeUnknown(Schema.typeSchema(Schema.Struct(RunRecord.fields)))
const decodeWorkflow = (u: unknown) => Effect.map(decodeWorkflowRow(u), (r) => new WorkflowRecord(r))
const decodeRun = (u: unknown) => Effect.map(decodeRunRow(u), (r) => new RunRecord(r))

const WORKFLOW_COLS = "id, project_id, name, description, version, definition, schedule_cron, created_by, created_at, updated_at"

/**
 * The group's step-record UPDATE (writeSteps below), on `table`: one parameter, the writes as
 * a JSON array of { id, done, start }. `w.id = ANY (ids)` makes the runs' rows an index lookup
 * in every plan. Joined only by `w.id = v.id`, the set's default estimate (100 rows) against a
 * table without statistics (a new database, autovacuum not yet run or off) was planned as a
 * hash join over a sequential scan of every run, custom and generic plans alike: ~145 rows
 * read per step after 600 runs, growing with the table (issue #19).
 *
 * With `flushWait` false (a database server of its own) its commit does not wait for the WAL
 * flush (src/db/CommitWithoutFlushWait.ts): a step's record is still written before the run goes
 * on, so a killed runner re-runs at most the step in flight, as before; the server crashing can
 * lose the last records, whose steps then run again — a step runs at least once in every case
 * (its effect may happen before any record of it). The run's end and its reply commit
 * synchronously, flushing every record of it. `bench workflow` on PostgreSQL 15: WAL fsyncs
 * 5,402 → 1,646 (`pg_stat_wal`), one run at a time 674–909 → 841–942 steps/s (README, seventh pass).
 */
export const stepWriteStatement = (table: string, options: { readonly flushWait: boolean }) => `
  WITH v AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(id text, done jsonb, start jsonb)
    ${options.flushWait ? "" : `WHERE ${COMMIT_WITHOUT_FLUSH_WAIT}`}
  )
  UPDATE ${table} w
  SET step_results = w.step_results || v.done || CASE WHEN w.cancel_requested OR v.start IS NULL THEN '{}'::jsonb ELSE v.start END,
      updated_at = now()
  FROM v
  WHERE w.id = v.id AND w.id = ANY (ARRAY(SELECT id FROM v))
  RETURNING w.id, w.cancel_requested`

const RUN_COLS =
  "id, workflow_id, project_id, workflow_version, status, trigger, input, output, step_results, error, parent_run_id, depth, cancel_requested, started_at, completed_at, updated_at"

export interface NewRun {
  readonly id: string
  readonly workflowId: string | null
  readonly projectId: string
  readonly version: number
  readonly definition: unknown
  readonly input: unknown
  readonly trigger: string
  readonly parentRunId: string | null
  readonly depth: number
  readonly idempotencyKey: string | null
  readonly createdBy: string | null
}

/** The engine's view of a run: its pinned definition snapshot, input and step journal (StepJournal.ts). */
export interface RunSpec {
  readonly projectId: string
  readonly definition: unknown
  readonly input: unknown
  readonly depth: number
  readonly workflowId: string | null
  readonly stepResults: unknown
}

/**
 * Workflows, their immutable versions and runs. Every read a caller can reach
 * is scoped by project ids; the engine's own reads (by run id) are not.
 * SQL failures are defects here: they never reach a client as text.
 */
export class WorkflowRepo extends Effect.Service<WorkflowRepo>()("Workflows/WorkflowRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // On the embedded database (inside this process) every commit waits for its flush.
    const flushWait = !(yield* SeparateDatabaseServer)
    const stepWrites = stepWriteStatement("workflow_executions", { flushWait })
    const json = (v: unknown) => JSON.stringify(v ?? null)
    const one = <A>(decode: (u: unknown) => Effect.Effect<A, unknown>) => (rows: ReadonlyArray<unknown>) =>
      rows.length === 0 ? Effect.succeed(Option.none<A>()) : Effect.map(decode(rows[0]), Option.some)

    const createWorkflow = (w: {
      id: string
      projectId: string
      name: string
      description: string
      definition: unknown
      scheduleCron: string | null
      createdBy: string
    }) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql.unsafe(
          `INSERT INTO workflows (id, project_id, name, description, version, definition, schedule_cron, created_by)
           VALUES ($1, $2, $3, $4, 1, $5::jsonb, $6, $7) RETURNING ${WORKFLOW_COLS}`,
          [w.id, w.projectId, w.name, w.description, json(w.definition), w.scheduleCron, w.createdBy]
        )
        yield* sql`INSERT INTO workflow_versions (workflow_id, version, definition, created_by)
                   VALUES (${w.id}, 1, ${json(w.definition)}::jsonb, ${w.createdBy})`
        return yield* decodeWorkflow(rows[0])
      })).pipe(Effect.orDie)

    /** Appends a version; the row's `version` is bumped atomically so concurrent PUTs never collide. */
    const updateWorkflow = (id: string, w: {
      name: string | undefined
      description: string | undefined
      definition: unknown
      scheduleCron: string | null
      createdBy: string
    }) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql.unsafe(
          `UPDATE workflows SET version = version + 1, definition = $2::jsonb, schedule_cron = $3,
             name = COALESCE($4, name), description = COALESCE($5, description), updated_at = now()
           WHERE id = $1 RETURNING ${WORKFLOW_COLS}`,
          [id, json(w.definition), w.scheduleCron, w.name ?? null, w.description ?? null]
        )
        const updated = yield* decodeWorkflow(rows[0])
        yield* sql`INSERT INTO workflow_versions (workflow_id, version, definition, created_by)
                   VALUES (${id}, ${updated.version}, ${json(w.definition)}::jsonb, ${w.createdBy})`
        return updated
      })).pipe(Effect.orDie)

    const findWorkflow = (id: string, projectIds: ReadonlyArray<string>) =>
      sql.unsafe(`SELECT ${WORKFLOW_COLS} FROM workflows WHERE id = $1 AND project_id = ANY($2)`, [id, projectIds]).pipe(
        Effect.flatMap(one(decodeWorkflow)),
        Effect.orDie
      )

    const listWorkflows = (projectIds: ReadonlyArray<string>) =>
      sql.unsafe(`SELECT ${WORKFLOW_COLS} FROM workflows WHERE project_id = ANY($1) ORDER BY created_at DESC, id LIMIT 500`, [projectIds]).pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, (r) => decodeWorkflow(r))),
        Effect.orDie
      )

    /**
     * Removes a workflow with its versions and schedule ticks (ON DELETE CASCADE), so the cron
     * scheduler no longer sees it. Its runs stay readable by run id: they are detached first
     * (workflow_id NULL, like inline runs; each keeps its definition snapshot) instead of
     * cascading away. Returns the runs that were still live, for the caller to cancel.
     */
    const deleteWorkflow = (id: string, projectId: string) =>
      sql.withTransaction(Effect.gen(function*() {
        const live = yield* sql.unsafe(
          `SELECT ${RUN_COLS} FROM workflow_executions
           WHERE workflow_id = $1 AND status NOT IN ('completed', 'failed', 'cancelled')`,
          [id]
        )
        yield* sql`UPDATE workflow_executions SET workflow_id = NULL, updated_at = now() WHERE workflow_id = ${id}`
        const deleted = yield* sql`DELETE FROM workflows WHERE id = ${id} AND project_id = ${projectId} RETURNING id`
        return { deleted: deleted.length > 0, live: yield* Effect.forEach(live, (r) => decodeRun(r)) }
      })).pipe(Effect.orDie)

    const findVersion = (workflowId: string, version: number) =>
      sql<{ definition: unknown }>`SELECT definition FROM workflow_versions WHERE workflow_id = ${workflowId} AND version = ${version}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.definition)),
        Effect.orDie
      )

    /** Inserts a run; with an idempotency key already used in the project, returns that run instead. */
    const createRun = (r: NewRun) =>
      Effect.gen(function*() {
        const rows = yield* sql.unsafe(
          `INSERT INTO workflow_executions (id, workflow_id, project_id, workflow_version, status, definition, input, trigger, parent_run_id, depth, idempotency_key, created_by)
           VALUES ($1, $2, $3, $4, 'pending', $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11)
           ON CONFLICT DO NOTHING RETURNING ${RUN_COLS}`,
          [r.id, r.workflowId, r.projectId, r.version, json(r.definition), json(r.input ?? {}), r.trigger, r.parentRunId, r.depth, r.idempotencyKey, r.createdBy]
        )
        if (rows.length > 0) return { run: yield* decodeRun(rows[0]), created: true }
        const existing = yield* sql.unsafe(
          `SELECT ${RUN_COLS} FROM workflow_executions WHERE id = $1 OR (project_id = $2 AND idempotency_key = $3)`,
          [r.id, r.projectId, r.idempotencyKey]
        )
        return { run: yield* decodeRun(existing[0]), created: false }
      }).pipe(Effect.orDie)

    const findRun = (id: string) =>
      sql.unsafe(`SELECT ${RUN_COLS} FROM workflow_executions WHERE id = $1`, [id]).pipe(
        Effect.flatMap(one(decodeRun)),
        Effect.orDie
      )

    const findRunScoped = (id: string, projectIds: ReadonlyArray<string>) =>
      Effect.map(findRun(id), Option.filter((r) => projectIds.includes(r.projectId)))

    /**
     * What executing a run starts with: its status set to running (unless it already ended)
     * and its spec read, in one statement. The spec is the row as it was before the update.
     * Like a step record, its commit skips the flush wait on a server of its own: the run's
     * persisted message, flushed before it, starts it again if a server crash loses it.
     */
    const beginRun = (id: string) =>
      sql<RunSpec>`
        WITH started AS (
          UPDATE workflow_executions SET status = 'running', updated_at = now()
          WHERE id = ${id} AND status NOT IN ('completed', 'failed', 'cancelled') ${sql.literal(flushWait ? "" : `AND ${COMMIT_WITHOUT_FLUSH_WAIT}`)}
        )
        SELECT project_id, definition, input, depth, workflow_id, step_results FROM workflow_executions WHERE id = ${id}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    /** The project's runs in progress (pending or running), counted up to `limit` over their partial index (sql/0170). */
    const countActive = (projectId: string, limit: number) =>
      sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM workflow_executions
          WHERE project_id = ${projectId} AND status IN ('pending', 'running') LIMIT ${limit}) active`.pipe(
        Effect.map((rows) => Number((rows[0] as { n: number }).n)),
        Effect.orDie
      )

    const listRuns = (workflowId: string, limit: number) =>
      sql.unsafe(`SELECT ${RUN_COLS} FROM workflow_executions WHERE workflow_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, [workflowId, limit]).pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, (r) => decodeRun(r))),
        Effect.orDie
      )

    const setStatus = (id: string, status: RunStatus) =>
      sql`UPDATE workflow_executions SET status = ${status}, updated_at = now()
          WHERE id = ${id} AND status NOT IN ('completed', 'failed', 'cancelled')`.pipe(Effect.asVoid, Effect.orDie)

    /**
     * Step records of every run, group-committed (src/db/GroupCommit.ts): the writes of
     * concurrent runs go out as one UPDATE. Each merges `done` (always written) and `start`
     * (a step's "running" record, written unless the run was asked to cancel) into its run's
     * step_results; writes of one run in one group (parallel branches) are merged first, as
     * an UPDATE changes a row once. One statement in flight: a group never waits on another's
     * row locks.
     */
    type StepWrite = { readonly id: string; readonly done: Record<string, unknown>; readonly start: Record<string, unknown> | null }
    const writeSteps = (writes: ReadonlyArray<StepWrite>) => {
      const byRun = new Map<string, { id: string; done: Record<string, unknown>; start: Record<string, unknown> | null }>()
      for (const w of writes) {
        const merged = byRun.get(w.id)
        if (merged === undefined) byRun.set(w.id, { id: w.id, done: { ...w.done }, start: w.start && { ...w.start } })
        else {
          Object.assign(merged.done, w.done)
          if (w.start) merged.start = { ...merged.start, ...w.start }
        }
      }
      return sql.unsafe<{ id: string; cancelRequested: boolean }>(stepWrites, [json([...byRun.values()])]).pipe(
        Effect.map((rows) => {
          const cancelled = new Map(rows.map((r) => [r.id, r.cancelRequested]))
          // Started: the run exists and was not asked to cancel.
          return writes.map((w) => cancelled.get(w.id) === false)
        })
      )
    }
    const writeStep = yield* groupCommit({
      run: writeSteps,
      single: (w: StepWrite) => Effect.orDie(writeSteps([w])).pipe(Effect.map((r) => r[0])),
      inFlight: 1,
      maxGroup: 256
    })

    /** Merges one step's result into its run's step_results (parallel branches never lose each other's writes). */
    const recordStep = (id: string, key: string, result: unknown) =>
      Effect.asVoid(writeStep({ id, done: { [key]: result }, start: null }))

    /**
     * Records `done` (completions, always written) and `start` (a step's "running" record,
     * written unless the run was asked to cancel) in one statement. False when it was.
     */
    const startStep = (id: string, done: Record<string, unknown>, start: Record<string, unknown>) =>
      writeStep({ id, done, start })

    /**
     * Ends a run unless it already ended; `done` (its last step's completion) is merged into
     * step_results either way, in the same statement. (SET expressions read the row as it was.)
     */
    const finish = (
      id: string,
      status: "completed" | "failed" | "cancelled",
      output: unknown,
      error: string | null,
      done: Record<string, unknown> = {}
    ) =>
      sql`UPDATE workflow_executions
          SET step_results = step_results || ${json(done)}::jsonb,
              status = CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN status ELSE ${status} END,
              output = CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN output ELSE ${json(output)}::jsonb END,
              error = CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN error ELSE ${error} END,
              completed_at = CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN completed_at ELSE now() END,
              updated_at = now()
          WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    const requestCancel = (id: string) =>
      sql`UPDATE workflow_executions SET cancel_requested = TRUE, updated_at = now()
          WHERE id = ${id} AND status NOT IN ('completed', 'failed', 'cancelled')`.pipe(Effect.asVoid, Effect.orDie)

    const isCancelRequested = (id: string) =>
      sql<{ cancelRequested: boolean }>`SELECT cancel_requested FROM workflow_executions WHERE id = ${id}`.pipe(
        Effect.map((rows) => rows[0]?.cancelRequested === true),
        Effect.orDie
      )

    const childRuns = (parentRunId: string) =>
      sql<{ id: string; status: RunStatus }>`SELECT id, status FROM workflow_executions WHERE parent_run_id = ${parentRunId}`.pipe(
        Effect.orDie
      )

    const scheduled = sql<{ id: string; projectId: string; scheduleCron: string; version: number; definition: unknown; createdBy: string | null }>`
      SELECT id, project_id, schedule_cron, version, definition, created_by FROM workflows WHERE schedule_cron IS NOT NULL`.pipe(Effect.orDie)

    /** True for exactly one caller per (workflow, tick), across every node. */
    const claimTick = (workflowId: string, tickAt: Date, runId: string) =>
      sql`INSERT INTO workflow_schedule_ticks (workflow_id, tick_at, run_id) VALUES (${workflowId}, ${tickAt}, ${runId})
          ON CONFLICT DO NOTHING RETURNING run_id`.pipe(Effect.map((rows) => rows.length === 1), Effect.orDie)

    const lastTick = (workflowId: string) =>
      sql<{ tickAt: Date }>`SELECT max(tick_at) AS tick_at FROM workflow_schedule_ticks WHERE workflow_id = ${workflowId}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.tickAt)),
        Effect.orDie
      )

    return {
      createWorkflow,
      updateWorkflow,
      findWorkflow,
      listWorkflows,
      findVersion,
      deleteWorkflow,
      createRun,
      findRun,
      findRunScoped,
      beginRun,
      countActive,
      listRuns,
      setStatus,
      recordStep,
      startStep,
      finish,
      requestCancel,
      isCancelRequested,
      childRuns,
      scheduled,
      claimTick,
      lastTick
    } as const
  })
}) {}
