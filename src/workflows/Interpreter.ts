import { Activity, DurableClock, DurableDeferred, type Workflow, type WorkflowEngine } from "@effect/workflow"
import { Deferred, Effect, Either, Exit, Option, Schema, type Scope } from "effect"
import { ApprovalDecision, WorkflowRun } from "../../entities/WorkflowRun.ts"
import { type ActionStep, type Definition, type Step } from "../domain/WorkflowDefinition.ts"
import { StepFailed, WorkflowRunFailed } from "../domain/WorkflowErrors.ts"
import { RunEvents } from "./RunEvents.ts"
import { SubworkflowLauncher } from "./SubworkflowLauncher.ts"
import { evaluate, render, TemplateFailure } from "./Template.ts"
import { listDependencies, validate } from "./Validation.ts"
import { type RunSpec, WorkflowRepo } from "./WorkflowRepo.ts"
import { runAction } from "./backends/StepBackends.ts"
import { truthy } from "./Expression.ts"
import { WorkflowsConfig } from "./WorkflowsConfig.ts"
import { type Carry, journalOf, replay, runToEnd, takeHeld } from "./StepJournal.ts"

/** Mutable state of one run's interpretation; rebuilt identically on every replay. */
interface RunState {
  readonly runId: string
  readonly projectId: string
  readonly depth: number
  readonly input: unknown
  readonly steps: Record<string, { output: unknown; status: string }>
  readonly vars: Record<string, unknown>
  /** JSON bytes of every step result so far (replays recount the same results). */
  dataBytes: number
}

interface Loop {
  readonly index: number
  readonly item: unknown
}

const scopeOf = (s: RunState, loop: Loop | undefined) => ({
  input: s.input,
  steps: s.steps,
  vars: s.vars,
  run: { id: s.runId },
  ...(loop && { loop })
})

const now = () => new Date().toISOString()

/** A `wait` up to this long sleeps in memory (DurableClock's default); a longer one suspends the run. */
const IN_MEMORY_WAIT_MS = 60_000

/** JSON size of a value as stored in step_results; a value nested too deeply to serialise counts as too large. */
const jsonBytes = (value: unknown): number => {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? 0 : Buffer.byteLength(text)
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

const describeBytes = (bytes: number) => Number.isFinite(bytes) ? `${bytes} bytes` : "nested too deeply to store"

/** What interpreting a step needs: the engine's context (provided by it) and the platform config. */
type StepEnv =
  | WorkflowEngine.WorkflowEngine
  | WorkflowEngine.WorkflowInstance
  | Workflow.Execution<"WorkflowRun">
  | Scope.Scope
  | WorkflowsConfig

const backoffMs = (step: Step, attempt: number) => {
  const initial = step.retry?.initialDelayMs ?? 200
  const factor = step.retry?.backoffFactor ?? 2
  return Math.min(initial * Math.pow(factor, attempt - 2), 60_000)
}

const isAction = (s: Step): s is ActionStep =>
  s.type === "agent" || s.type === "tool" || s.type === "rag" || s.type === "sql" || s.type === "http"

const failRun = (stepId: string | null, message: string, attempts = 0) =>
  new WorkflowRunFailed({ stepId, message, attempts })

export const approvalDeferred = (key: string) => DurableDeferred.make(`approval/${key}`, { success: ApprovalDecision })

/**
 * Walks a run's pinned definition inside the durable `WorkflowRun`. Every
 * action is journaled under its key (`fetch`, `each[2].fetch`) in the run's
 * row (StepJournal.ts), so a replay after a crash or a resume returns
 * journaled results instead of calling backends again; control flow
 * (conditions, loops, `set`) is pure and recomputed from those results.
 */
export const interpret = Effect.fn("Workflows.interpret")(function*(
  runId: string,
  spec: Option.Option<RunSpec>,
  /** Receives the completion of the run's last step, when it is an action: the run's finish journals it. */
  runEnd: Carry
) {
  const repo = yield* WorkflowRepo
  const events = yield* RunEvents
  const launcher = yield* SubworkflowLauncher
  const limits = yield* WorkflowsConfig
  if (Option.isNone(spec)) return yield* failRun(null, `run ${runId} does not exist`)
  const validated = validate(spec.value.definition)
  if (Either.isLeft(validated)) {
    // A definition stored before a limit existed (e.g. expression depth) fails here, at run time.
    const [first] = validated.left
    return yield* failRun(null, `the run's definition is no longer valid${first ? `: ${first.path} ${first.message}`.slice(0, 300) : ""}`)
  }
  const definition: Definition = validated.right.definition
  const state: RunState = {
    runId,
    projectId: spec.value.projectId,
    depth: spec.value.depth,
    input: spec.value.input ?? {},
    steps: {},
    vars: {},
    dataBytes: 0
  }
  const journal = journalOf(spec.value.stepResults)
  const emit = (type: string, data: Record<string, unknown>) => events.publish(state.projectId, runId, type, data)
  const record = (key: string, step: Step, result: Record<string, unknown>) =>
    repo.recordStep(runId, key, { stepId: step.id, type: step.type, ...result })

  /** Templates and expressions evaluated outside an action step: a failure ends the run, never as a defect. */
  const attempt = <A>(step: Step, f: () => A) =>
    Effect.try({
      try: f,
      catch: (e) => failRun(step.id, `step '${step.id}': ${e instanceof TemplateFailure ? e.message : "could not evaluate its expressions"}`)
    })

  const stepOutputTooLarge = (step: Step, bytes: number) =>
    `step '${step.id}' output is ${describeBytes(bytes)}; the limit is ${limits.maxStepOutputBytes} (WORKFLOW_MAX_STEP_OUTPUT_BYTES)`

  /** Counts a step's result against the run's data budget (and a control step's against the step limit). */
  const account = (step: Step, output: unknown, checkStep: boolean) =>
    Effect.suspend(() => {
      const bytes = jsonBytes(output)
      if (checkStep && bytes > limits.maxStepOutputBytes) return Effect.fail(failRun(step.id, stepOutputTooLarge(step, bytes)))
      state.dataBytes += bytes
      if (state.dataBytes > limits.maxRunDataBytes) {
        return Effect.fail(failRun(
          step.id,
          `the run's step results reached ${describeBytes(state.dataBytes)} at step '${step.id}'; the limit is ${limits.maxRunDataBytes} (WORKFLOW_MAX_RUN_DATA_BYTES)`
        ))
      }
      return Effect.void
    })

  const checkCancelled = (step: Step) =>
    Effect.flatMap(repo.isCancelRequested(runId), (cancelled) =>
      cancelled ? Effect.fail(failRun(step.id, "run was cancelled")) : Effect.void)

  /**
   * An action step, journaled in the run's row (StepJournal.ts): a replay returns a completed
   * step's output, or its final failure, without calling the backend. An attempt runs to its
   * end once started, so its result is journaled even when the run is interrupted meanwhile.
   */
  const actionStep = (step: ActionStep, key: string, loop: Loop | undefined, carry: Carry | undefined) => {
    const scope = scopeOf(state, loop)
    const maxAttempts = step.retry?.maxAttempts ?? 1
    const failed = (attempts: number, message: string) =>
      failRun(step.id, `step '${step.id}' failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${message}`, attempts)
    const once = (attempt: number) =>
      Effect.gen(function*() {
        // The previous step's completion, when held back, is journaled by this same statement.
        const held = takeHeld(carry)
        const started = yield* repo.startStep(
          runId,
          held ? { [held.key]: held.record } : {},
          { [key]: { stepId: step.id, type: step.type, status: "running", attempt, startedAt: now() } }
        )
        if (held) yield* emit("step.completed", held.event)
        if (!started) return yield* failRun(step.id, "run was cancelled")
        yield* emit("step.started", { key, stepId: step.id, attempt })
        const action = runAction(step, { projectId: state.projectId, runId, stepKey: key, scope }, step.timeoutMs)
        const bounded = step.timeoutMs !== undefined && step.type !== "http" && step.type !== "tool"
          ? Effect.timeoutFail(action, {
            duration: step.timeoutMs,
            onTimeout: () => new StepFailed({ stepId: step.id, message: `timed out after ${step.timeoutMs} ms`, retryable: true })
          })
          : action
        const output = yield* bounded.pipe(
          Effect.mapError((e) =>
            e._tag === "StepFailed" ? e : new StepFailed({
              stepId: step.id,
              message: e.message,
              retryable: e._tag === "BackendError" && e.retryable
            })
          ),
          // Checked before the result is journaled or stored: an oversized output never reaches the database.
          Effect.filterOrElse(
            (out) => jsonBytes(out) <= limits.maxStepOutputBytes,
            (out) => Effect.fail(new StepFailed({ stepId: step.id, message: stepOutputTooLarge(step, jsonBytes(out)), retryable: false }))
          ),
          Effect.tapError((e) =>
            Effect.zipRight(
              record(key, step, { status: "failed", attempt, error: e.message, retryable: e.retryable, completedAt: now() }),
              emit("step.failed", { key, stepId: step.id, attempt, error: e.message, retryable: e.retryable })
            )
          )
        )
        const completed = { status: "completed", attempt, output, completedAt: now() }
        if (carry?.deferNext) {
          carry.held = { key, record: { stepId: step.id, type: step.type, ...completed }, event: { key, stepId: step.id, attempt } }
          return output
        }
        yield* record(key, step, completed)
        yield* emit("step.completed", { key, stepId: step.id, attempt })
        return output
      })
    const attempts = (attempt: number): Effect.Effect<unknown, WorkflowRunFailed, WorkflowsConfig> =>
      Effect.zipRight(
        attempt > 1 ? Effect.sleep(backoffMs(step, attempt)) : Effect.void,
        runToEnd(once(attempt)).pipe(
          Effect.catchTag("StepFailed", (e) =>
            e.retryable && attempt < maxAttempts ? attempts(attempt + 1) : Effect.fail(failed(attempt, e.message)))
        )
      )
    const replayed = replay(journal(key), maxAttempts)
    const withRetry = replayed._tag === "Completed"
      ? Effect.succeed(replayed.output)
      : replayed._tag === "Failed"
      ? Effect.fail(failed(replayed.attempt, replayed.error))
      : attempts(replayed.attempt)
    const compensation = "compensate" in step ? step.compensate : undefined
    if (compensation === undefined) return withRetry
    return WorkflowRun.withCompensation(withRetry, (output) =>
      Activity.make({
        name: `compensate/${key}`,
        success: Schema.Unknown,
        error: StepFailed,
        execute: runAction(
          compensation,
          {
            projectId: state.projectId,
            runId,
            stepKey: `compensate/${key}`,
            scope: { ...scope, steps: { ...state.steps, [step.id]: { output, status: "completed" } } }
          },
          undefined
        ).pipe(Effect.mapError((e) => new StepFailed({ stepId: step.id, message: e.message, retryable: false })))
      }).pipe(
        Effect.matchEffect({
          onSuccess: () => record(`compensate/${key}`, step, { status: "compensated", completedAt: now() }),
          onFailure: (e) =>
            Effect.zipRight(
              record(`compensate/${key}`, step, { status: "compensation_failed", error: e.message, completedAt: now() }),
              Effect.logWarning("workflow compensation failed", { runId, key, error: e.message })
            )
        })
      ))
  }

  const runStep = (step: Step, prefix: string, loop: Loop | undefined, carry?: Carry): Effect.Effect<unknown, WorkflowRunFailed, StepEnv> =>
    Effect.gen(function*() {
      const key = `${prefix}${step.id}`
      const scope = scopeOf(state, loop)
      let output: unknown
      if (isAction(step)) {
        // Checks for cancellation as it records the step's start.
        output = yield* actionStep(step, key, loop, carry)
        yield* account(step, output, false)
      } else {
        yield* checkCancelled(step)
        switch (step.type) {
          case "set": {
            const values = (yield* attempt(step, () => render(step.values, scope))) as Record<string, unknown>
            // Measured before the values become variables: a doubling loop stops at the limit, not in memory.
            yield* account(step, values, true)
            Object.assign(state.vars, values)
            output = values
            break
          }
          case "wait": {
            yield* record(key, step, { status: "waiting", startedAt: now() })
            // Past the in-memory threshold the run is suspended until its clock fires: it holds
            // nothing meanwhile, so it is `waiting` like a run at an approval (and not counted
            // as in progress by ActiveRunsBound).
            const suspends = step.durationMs > IN_MEMORY_WAIT_MS
            if (suspends) yield* repo.setStatus(runId, "waiting")
            yield* DurableClock.sleep({ name: key, duration: step.durationMs, inMemoryThreshold: IN_MEMORY_WAIT_MS })
            if (suspends) yield* repo.setStatus(runId, "running")
            output = { waitedMs: step.durationMs }
            break
          }
          case "approval": {
            const message = step.message === undefined ? undefined : yield* attempt(step, () => render(step.message, scope))
            yield* record(key, step, { status: "waiting", approval: true, message, startedAt: now() })
            yield* repo.setStatus(runId, "waiting")
            yield* emit("approval.requested", { key, stepId: step.id, message })
            const decision = yield* DurableDeferred.await(approvalDeferred(key))
            yield* repo.setStatus(runId, "running")
            output = decision
            if (!decision.approved && step.onReject !== "continue") {
              yield* record(key, step, { status: "failed", approval: true, output, error: "rejected", completedAt: now() })
              return yield* failRun(step.id, `approval '${step.id}' was rejected${decision.comment ? `: ${decision.comment}` : ""}`)
            }
            break
          }
          case "subworkflow": {
            const childRunId = yield* launcher.prepare({
              parentRunId: runId,
              projectId: state.projectId,
              depth: state.depth,
              step,
              key,
              input: step.input === undefined ? {} : yield* attempt(step, () => render(step.input, scope))
            })
            yield* record(key, step, { status: "running", childRunId, startedAt: now() })
            output = yield* WorkflowRun.execute({ runId: childRunId }).pipe(
              Effect.mapError((e) => failRun(step.id, `sub-workflow step '${step.id}' failed: ${e.message}`, e.attempts))
            )
            break
          }
          case "condition": {
            const value = truthy(yield* attempt(step, () => evaluate(step.if, scope)))
            yield* runList(value ? step.then : step.else ?? [], prefix, loop)
            output = { branch: value ? "then" : "else" }
            break
          }
          case "parallel": {
            output = yield* Effect.all(step.branches.map((b) => runList(b, prefix, loop)), { concurrency: "unbounded" })
            break
          }
          case "loop": {
            const forEach = step.forEach
            const items = forEach === undefined ? undefined : yield* attempt(step, () => evaluate(forEach, scope))
            if (items !== undefined && !Array.isArray(items)) {
              return yield* failRun(step.id, `loop '${step.id}': forEach did not evaluate to a list`)
            }
            if (items !== undefined && items.length > step.maxIterations) {
              return yield* failRun(step.id, `loop '${step.id}': ${items.length} items exceed maxIterations ${step.maxIterations}`)
            }
            const results: Array<unknown> = []
            let truncated = step.while !== undefined
            for (let index = 0; index < (items?.length ?? step.maxIterations); index++) {
              const iteration: Loop = { index, item: items?.[index] ?? null }
              const test = step.while
              if (test !== undefined && !truthy(yield* attempt(step, () => evaluate(test, scopeOf(state, iteration))))) {
                truncated = false
                break
              }
              results.push(yield* runList(step.steps, `${prefix}${step.id}[${index}].`, iteration))
            }
            output = { iterations: results.length, results, truncated }
            break
          }
        }
        if (step.type !== "set") yield* account(step, output, true)
        yield* record(key, step, { status: "completed", output, completedAt: now() })
      }
      state.steps[step.id] = { output, status: "completed" }
      return output
    })

  /** A list runs in order, or as a DAG when dependencies say so; its value is its last step's output. */
  const runList = (
    steps: ReadonlyArray<Step>,
    prefix: string,
    loop: Loop | undefined,
    /** The top-level list's: its last completion is left held when it succeeds. */
    outer?: Carry
  ): Effect.Effect<unknown, WorkflowRunFailed, StepEnv> =>
    Effect.gen(function*() {
      const deps = listDependencies(steps)
      const sequential = steps.every((s, i) => {
        const d = deps.get(s.id)!
        return i === 0 ? d.size === 0 : d.size === 1 && d.has(steps[i - 1].id)
      })
      let last: unknown = null
      if (sequential) {
        const carry: Carry = outer ?? { deferNext: false, held: undefined }
        const flushHeld = Effect.suspend(() => {
          const held = takeHeld(carry)
          return held === undefined
            ? Effect.void
            : Effect.zipRight(repo.recordStep(runId, held.key, held.record), emit("step.completed", held.event))
        })
        return yield* Effect.gen(function*() {
          for (let i = 0; i < steps.length; i++) {
            carry.deferNext = i + 1 < steps.length ? isAction(steps[i + 1]) : outer !== undefined
            last = yield* runStep(steps[i], prefix, loop, carry)
          }
          return last
        }).pipe(Effect.onExit((exit) => (outer !== undefined && Exit.isSuccess(exit) ? Effect.void : flushHeld)))
      }
      const done = new Map<string, Deferred.Deferred<void>>()
      for (const s of steps) done.set(s.id, yield* Deferred.make<void>())
      const outputs = yield* Effect.forEach(steps, (s) =>
        Effect.gen(function*() {
          for (const d of deps.get(s.id)!) yield* Deferred.await(done.get(d)!)
          const out = yield* runStep(s, prefix, loop)
          yield* Deferred.succeed(done.get(s.id)!, undefined)
          return out
        }), { concurrency: "unbounded" })
      return outputs[outputs.length - 1] ?? null
    })

  // The run's status was set to running by beginRun.
  yield* emit("run.started", { workflowRunId: runId })
  const last = yield* runList(definition.steps, "", undefined, runEnd)
  if (definition.output === undefined) return last
  const output = yield* Effect.try({
    try: () => render(definition.output, scopeOf(state, undefined)),
    catch: (e) => failRun(null, `the run's output: ${e instanceof TemplateFailure ? e.message : "could not evaluate its expressions"}`)
  })
  const bytes = jsonBytes(output)
  if (bytes > limits.maxStepOutputBytes) {
    return yield* failRun(null, `the run's output is ${describeBytes(bytes)}; the limit is ${limits.maxStepOutputBytes} (WORKFLOW_MAX_STEP_OUTPUT_BYTES)`)
  }
  return output
})
