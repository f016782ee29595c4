import { Cause, Effect, Exit, Layer, Option } from "effect"
import { WorkflowRun } from "../../entities/WorkflowRun.ts"
import { interpret } from "./Interpreter.ts"
import { type Carry, takeHeld } from "./StepJournal.ts"
import { RunEvents } from "./RunEvents.ts"
import { SubworkflowLauncher } from "./SubworkflowLauncher.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"

/**
 * Registers `WorkflowRun` with the engine and keeps `workflow_executions`
 * in step with it: completed / failed / cancelled when the body ends. An
 * interruption alone is a suspension (approval, delay, restart), not an end.
 */
export const WorkflowRunLive = WorkflowRun.toLayer(
  Effect.fn("WorkflowRun.run")(function*({ runId }) {
    const repo = yield* WorkflowRepo
    const events = yield* RunEvents
    const spec = yield* repo.beginRun(runId)
    // The last step's completion, journaled by the run's finish (or alone when the run only suspends).
    const runEnd: Carry = { deferNext: false, held: undefined }
    return yield* interpret(runId, spec, runEnd).pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          const projectId = Option.match(spec, { onNone: () => "", onSome: (s) => s.projectId })
          const held = takeHeld(runEnd)
          const done = held ? { [held.key]: held.record } : {}
          const announce = held ? events.publish(projectId, runId, "step.completed", held.event) : Effect.void
          if (Exit.isSuccess(exit)) {
            yield* repo.finish(runId, "completed", exit.value, null, done)
            yield* announce
            yield* events.publish(projectId, runId, "run.completed", {})
            return
          }
          if (Cause.isInterruptedOnly(exit.cause)) {
            if (held) yield* Effect.zipRight(repo.recordStep(runId, held.key, held.record), announce)
            return
          }
          const failure = Cause.failureOption(exit.cause)
          const cancelled = yield* repo.isCancelRequested(runId)
          const message = Option.match(failure, {
            onNone: () => "internal error while running the workflow",
            onSome: (e) => e.message
          })
          if (Option.isNone(failure)) {
            const defect = Cause.squash(exit.cause)
            // SqlError keeps the driver's message in `cause`: log it (server side only, never on the wire).
            const detail = defect instanceof Error && defect.cause instanceof Error ? defect.cause.message : String(defect)
            yield* Effect.logError("workflow run died", { runId, detail, cause: Cause.pretty(exit.cause) })
          }
          yield* repo.finish(runId, cancelled ? "cancelled" : "failed", null, cancelled ? "run was cancelled" : message, done)
          yield* announce
          yield* events.publish(projectId, runId, cancelled ? "run.cancelled" : "run.failed", { error: message })
        })
      )
    )
  })
).pipe(Layer.provide(Layer.mergeAll(WorkflowRepo.Default, RunEvents.Default, SubworkflowLauncher.Default)))
