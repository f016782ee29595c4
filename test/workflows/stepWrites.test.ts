import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { SeparateDatabaseServer } from "../../src/db/CommitWithoutFlushWait.ts"
import { DatabaseLive } from "../../src/db/Database.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { ToolCatalog } from "../../src/domain/Tool.ts"
import { SqlClient } from "@effect/sql"
import { stepWriteStatement, WorkflowRepo } from "../../src/workflows/WorkflowRepo.ts"
import { planNodes, sequentialScans } from "../support/queryPlans.ts"
import { startEngine } from "./engineHarness.ts"

type Engine = Awaited<ReturnType<typeof startEngine>>
let engine: Engine

const NoTools = Layer.succeed(ToolCatalog, { list: () => Effect.succeed([]), call: () => Effect.succeed({ content: [], isError: false }) })

beforeAll(async () => {
  engine = await startEngine(NoTools)
}, 180_000)
afterAll(async () => {
  await engine?.stop()
})

const newRun = (id: string) =>
  Effect.flatMap(WorkflowRepo, (repo) =>
    repo.createRun({
      id, workflowId: null, projectId: engine.projectId, version: 1, definition: { steps: [] }, input: {},
      trigger: "api", parentRunId: null, depth: 0, idempotencyKey: null, createdBy: null
    }))

describe("group-committed step records", () => {
  test("concurrent writes of several runs, and of one run's parallel branches, all land in their own rows", async () => {
    const runs = ["wfr_gc_a", "wfr_gc_b", "wfr_gc_c"]
    const results = await engine.runtime.runPromise(Effect.gen(function*() {
      const repo = yield* WorkflowRepo
      for (const id of runs) yield* newRun(id)
      const started = yield* Effect.forEach(
        runs.flatMap((id) => Array.from({ length: 20 }, (_, i) => ({ id, i }))),
        ({ id, i }) =>
          i % 2 === 0
            ? repo.startStep(id, i > 0 ? { [`k${i - 1}`]: { status: "completed", output: i - 1 } } : {}, { [`k${i}`]: { status: "running" } })
            : repo.recordStep(id, `k${i}`, { status: "completed", output: i }).pipe(Effect.as(true)),
        { concurrency: "unbounded" }
      )
      const rows = yield* Effect.forEach(runs, (id) => Effect.map(repo.findRun(id), Option.getOrThrow))
      return { started, rows }
    }))
    expect(results.started.every((s) => s)).toBe(true)
    for (const row of results.rows) {
      expect(Object.keys(row.stepResults).length).toBe(20)
      // Odd keys: completed by recordStep or by the next even key's `done`, never left running.
      for (let i = 1; i < 20; i += 2) expect(row.stepResults[`k${i}`]).toMatchObject({ status: "completed", output: i })
    }
  }, 30_000)

  test("a run asked to cancel gets its completions written but no new step started", async () => {
    const started = await engine.runtime.runPromise(Effect.gen(function*() {
      const repo = yield* WorkflowRepo
      yield* newRun("wfr_gc_cancel")
      yield* repo.requestCancel("wfr_gc_cancel")
      return yield* repo.startStep("wfr_gc_cancel", { first: { status: "completed", output: 1 } }, { second: { status: "running" } })
    }))
    expect(started).toBe(false)
    const row = await engine.run("wfr_gc_cancel")
    expect(row.stepResults).toEqual({ first: { status: "completed", output: 1 } })
  }, 30_000)

  test("a group's step records reach their runs through the primary key, not a scan of every run", async () => {
    // A copy of the runs table, 20,000 runs, never analyzed: a new database before autovacuum
    // has run. Joined only by id, the group's UPDATE was planned as a sequential scan of it.
    const plan = await engine.runtime.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE TABLE plan_runs (LIKE workflow_executions INCLUDING ALL) WITH (autovacuum_enabled = false)`)
      yield* sql.unsafe(`
        INSERT INTO plan_runs (id, project_id, workflow_version, status, definition, input, step_results)
        SELECT 'run-' || g, '${engine.projectId}', 1, 'running', '{}', '{}', '{}' FROM generate_series(1, 20000) AS g`)
      const writes = JSON.stringify([{ id: "run-7", done: { a: 1 }, start: null }, { id: "run-19999", done: { b: 2 }, start: { c: 3 } }])
      const [explained] = yield* sql.unsafe<{ "QUERY PLAN": unknown }>(
        `EXPLAIN (FORMAT JSON) ${stepWriteStatement("plan_runs", { flushWait: false }).replace("$1::jsonb", `'${writes}'::jsonb`)}`
      ).withoutTransform
      const updated = yield* sql.unsafe<{ id: string }>(stepWriteStatement("plan_runs", { flushWait: false }), [writes]).withoutTransform
      const rows = yield* sql.unsafe<{ id: string; step_results: unknown }>(`SELECT id, step_results FROM plan_runs WHERE id IN ('run-7', 'run-19999') ORDER BY id`)
        .withoutTransform
      yield* sql.unsafe(`DROP TABLE plan_runs`)
      return { plan: explained["QUERY PLAN"], updated: updated.map((r) => r.id).sort(), rows }
    }))
    expect(sequentialScans(plan.plan)).toEqual([])
    expect(planNodes(plan.plan).some((n) => n["Index Name"] === "plan_runs_pkey")).toBe(true)
    expect(plan.updated).toEqual(["run-19999", "run-7"])
    expect(plan.rows).toEqual([
      { id: "run-19999", step_results: { b: 2, c: 3 } },
      { id: "run-7", step_results: { a: 1 } }
    ])
  }, 60_000)

  test("on a server of its own a group's commit skips the WAL flush wait, for its own transaction only; on the embedded database it waits", async () => {
    const settingsWith = (flushWait: boolean, runId: string) =>
      engine.runtime.runPromise(Effect.scoped(Effect.gen(function*() {
        yield* newRun(runId)
        const sql = yield* SqlClient.SqlClient
        // One connection throughout, so a setting left on the session (not the transaction) would show.
        const conn = yield* sql.reserve
        const setting = () =>
          Effect.map(conn.executeRaw("SELECT current_setting('synchronous_commit') AS s", []), (r: any) => (r.rows ?? r)[0].s as string)
        const before = yield* setting()
        yield* conn.executeRaw("BEGIN", [])
        yield* conn.executeRaw(stepWriteStatement("workflow_executions", { flushWait }), [JSON.stringify([{ id: runId, done: { a: 1 }, start: null }])])
        const during = yield* setting()
        yield* conn.executeRaw("COMMIT", [])
        return { before, during, after: yield* setting() }
      })))
    expect(await settingsWith(false, "wfr_gc_noflush")).toEqual({ before: "on", during: "off", after: "on" })
    expect(await settingsWith(true, "wfr_gc_flush")).toEqual({ before: "on", during: "on", after: "on" })
    expect((await engine.run("wfr_gc_noflush")).stepResults).toEqual({ a: 1 })
    // A run's start (status running + its spec) follows the same policy, through the repository.
    const beginSetting = (separateServer: boolean, runId: string) =>
      engine.runtime.runPromise(Effect.gen(function*() {
        yield* newRun(runId)
        const sql = yield* SqlClient.SqlClient
        const repo = yield* WorkflowRepo
        return yield* sql.withTransaction(Effect.gen(function*() {
          yield* repo.beginRun(runId)
          const [row] = yield* sql<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`
          return row.s
        }))
      }).pipe(Effect.provide(WorkflowRepo.Default), Effect.provide(Layer.succeed(SeparateDatabaseServer, separateServer))))
    expect(await beginSetting(true, "wfr_begin_noflush")).toBe("off")
    expect(await beginSetting(false, "wfr_begin_flush")).toBe("on")
    expect((await engine.run("wfr_begin_noflush")).status).toBe("running")
    // Which one the repository uses: the embedded database (this engine) waits; DATABASE_URL's server does not.
    expect(await engine.runtime.runPromise(SeparateDatabaseServer)).toBe(false)
    const db = await createTestDatabase("flush_policy")
    try {
      const separate = await Effect.runPromise(Effect.provide(
        SeparateDatabaseServer,
        DatabaseLive.pipe(Layer.provide(AppConfig.layerWith({ databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" })))
      ))
      expect(separate).toBe(true)
    } finally {
      await db.drop()
    }
  }, 60_000)
})
