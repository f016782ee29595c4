import { Effect, Fiber } from "effect"

/**
 * The journal of a run is its `workflow_executions.step_results`: one record per step key,
 * written in the run's row as the step goes (`running` with its attempt, then `completed`
 * with its output or `failed` with its error). An action step's result is journaled there,
 * in the statement that records it, instead of as a cluster message and reply per step: a
 * replay (restart, resume after an approval or a delay) reads the row once and returns the
 * outputs of completed steps without calling their backends again.
 *
 * Runs journaled by the earlier engine (one Activity per step) replay the same way: their
 * activities wrote these same records before replying.
 */
export interface StepRecord {
  readonly status?: unknown
  readonly attempt?: unknown
  readonly output?: unknown
  readonly error?: unknown
  readonly retryable?: unknown
}

/** What a replay finds for a step: its output, a failure that ended its retries, or the attempt to run. */
export type Replay =
  | { readonly _tag: "Completed"; readonly output: unknown; readonly attempt: number }
  | { readonly _tag: "Failed"; readonly error: string; readonly attempt: number }
  | { readonly _tag: "Run"; readonly attempt: number }

export const replay = (record: StepRecord | undefined, maxAttempts: number): Replay => {
  const attempt = typeof record?.attempt === "number" ? record.attempt : 1
  switch (record?.status) {
    case "completed":
      return { _tag: "Completed", output: record.output, attempt }
    case "failed":
      // A failed attempt with retries left was followed by a crash before the next one started.
      // (Records from before `retryable` was journaled count as retryable: one more attempt at most.)
      return record.retryable !== false && attempt < maxAttempts
        ? { _tag: "Run", attempt: attempt + 1 }
        : { _tag: "Failed", error: typeof record.error === "string" ? record.error : "failed", attempt }
    case "running":
      // The attempt was in flight when the process stopped: it runs again (at least once, as designed).
      return { _tag: "Run", attempt }
    default:
      return { _tag: "Run", attempt: 1 }
  }
}

/** A run's journal as read from its row: records by step key (own keys only). */
export const journalOf = (stepResults: unknown) => {
  const records = (typeof stepResults === "object" && stepResults !== null ? stepResults : {}) as Record<string, StepRecord>
  return (key: string): StepRecord | undefined => (Object.hasOwn(records, key) ? records[key] : undefined)
}

/**
 * Runs an attempt to its end even when the fiber waiting for it is interrupted (a parallel
 * branch suspended the run, the runner shuts down): the interruption takes effect after the
 * attempt has journaled its result, as the engine's uninterruptible activities did. Inside,
 * the attempt stays interruptible, so its own timeouts still work.
 */
export const runToEnd = <A, E, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.fork(restore(attempt)), Fiber.join))

/**
 * The completion of an action step held back, within one sequential list, to be journaled by
 * the statement that starts the next action step (one statement per step instead of two).
 * Nothing runs between the two but pure interpretation: the held record is written before
 * the next step does anything, and the list writes whatever is still held when it ends, by
 * any exit (StepJournal's users: Interpreter.runList).
 */
export interface Carry {
  /** Set by the list: the step now running is followed by an action step. */
  deferNext: boolean
  held: { readonly key: string; readonly record: unknown; readonly event: Record<string, unknown> } | undefined
}

export const takeHeld = (carry: Carry | undefined) => {
  const held = carry?.held
  if (carry) carry.held = undefined
  return held
}
