import { DurableDeferred, WorkflowEngine } from "@effect/workflow"
import { Effect, Option } from "effect"
import { WorkflowRun, type ApprovalDecision } from "../../entities/WorkflowRun.ts"
import { BadRequest, Conflict } from "../kernel/WireErrors.ts"
import { approvalDeferred } from "./Interpreter.ts"
import { ActiveRunsBound } from "./ActiveRunsBound.ts"
import { RunEvents } from "./RunEvents.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { type RunRecord, TERMINAL } from "../domain/Workflow.ts"

export interface StartRun {
  readonly projectId: string
  readonly workflowId: string | null
  readonly version: number
  readonly definition: unknown
  readonly input: unknown
  readonly trigger: "api" | "cron" | "orchestrator"
  readonly idempotencyKey: string | null
  readonly createdBy: string | null
  /** Known up front by the cron scheduler, so a tick always maps to the same run. */
  readonly runId?: string
}

export const newRunId = () => `wfr_${crypto.randomUUID().replaceAll("-", "")}`

/**
 * Starting, cancelling and signalling runs. A run is a row first (so it can
 * be listed at once), then a durable `WorkflowRun` execution sent with
 * `discard`: the message is persisted before the caller gets the run id.
 */
export class WorkflowRuns extends Effect.Service<WorkflowRuns>()("Workflows/WorkflowRuns", {
  effect: Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const events = yield* RunEvents
    const engine = yield* WorkflowEngine.WorkflowEngine
    const bound = yield* ActiveRunsBound
    const withEngine = Effect.provideService(WorkflowEngine.WorkflowEngine, engine)

    const start = Effect.fn("WorkflowRuns.start")(function*(r: StartRun) {
      // Refused before anything is stored. A cron tick is not: its schedule is bounded by
      // WORKFLOW_MIN_CRON_INTERVAL_SECONDS, and a refused tick would be lost.
      if (r.trigger !== "cron") yield* bound.check(r.projectId)
      const { created, run } = yield* repo.createRun({
        id: r.runId ?? newRunId(),
        workflowId: r.workflowId,
        projectId: r.projectId,
        version: r.version,
        definition: r.definition,
        input: r.input,
        trigger: r.trigger,
        parentRunId: null,
        depth: 0,
        idempotencyKey: r.idempotencyKey,
        createdBy: r.createdBy
      })
      // Executing again is harmless (same execution id), and repairs a crash between insert and send.
      if (created) yield* bound.started(r.projectId)
      if (created || !TERMINAL.includes(run.status)) {
        yield* WorkflowRun.execute({ runId: run.id }, { discard: true })
      }
      if (created) yield* events.publish(r.projectId, run.id, "run.created", { workflowId: r.workflowId, trigger: r.trigger })
      return { run, created }
    }, withEngine)

    /** Cancels a run and its live children; a waiting run ends at once, a running one before its next step. */
    const cancel = (run: RunRecord): Effect.Effect<void, Conflict> =>
      Effect.gen(function*() {
        if (TERMINAL.includes(run.status)) {
          return yield* new Conflict({ message: `run ${run.id} is already ${run.status}` })
        }
        yield* repo.requestCancel(run.id)
        const executionId = yield* WorkflowRun.executionId({ runId: run.id })
        yield* WorkflowRun.interrupt(executionId)
        if (run.status === "waiting" || run.status === "pending") {
          yield* repo.finish(run.id, "cancelled", null, "run was cancelled")
          yield* events.publish(run.projectId, run.id, "run.cancelled", {})
        }
        for (const child of yield* repo.childRuns(run.id)) {
          if (TERMINAL.includes(child.status)) continue
          const childRun = yield* repo.findRun(child.id)
          if (Option.isSome(childRun)) yield* Effect.ignore(cancel(childRun.value))
        }
      }).pipe(withEngine)

    /** Completes a waiting approval; the first decision for an approval wins. */
    const signal = Effect.fn("WorkflowRuns.signal")(function*(
      run: RunRecord,
      stepId: string | undefined,
      decision: ApprovalDecision
    ) {
      if (TERMINAL.includes(run.status)) {
        return yield* new Conflict({ message: `run ${run.id} is already ${run.status}` })
      }
      const waiting = Object.entries(run.stepResults).flatMap(([key, value]) => {
        const v = value as { approval?: boolean; status?: string; stepId?: string }
        return v.approval === true && v.status === "waiting" && (stepId === undefined || v.stepId === stepId) ? [key] : []
      })
      if (waiting.length === 0) {
        return yield* new Conflict({
          message: stepId === undefined ? `run ${run.id} is not waiting for an approval` : `run ${run.id} is not waiting for approval '${stepId}'`
        })
      }
      if (waiting.length > 1) {
        return yield* new BadRequest({ message: `several approvals are waiting (${waiting.join(", ")}): name one with stepId` })
      }
      const key = waiting[0]
      const executionId = yield* WorkflowRun.executionId({ runId: run.id })
      const deferred = approvalDeferred(key)
      const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow: WorkflowRun, executionId })
      yield* DurableDeferred.succeed(deferred, { token, value: decision })
      yield* events.publish(run.projectId, run.id, "approval.decided", { key, approved: decision.approved })
      return { key }
    }, withEngine)

    return { start, cancel, signal } as const
  }),
  dependencies: [WorkflowRepo.Default, RunEvents.Default, ActiveRunsBound.Default]
}) {}
