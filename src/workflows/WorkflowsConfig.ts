import { Config, Context, Effect, Layer } from "effect"
import * as Values from "../config/Values.ts"

/** Workflow engine settings: http step allow-list, cron scheduler, sub-workflow depth, run data limits. */
export interface WorkflowsConfigShape {
  /**
   * Hosts an `http` step may call: `example.com`, `*.example.com`, `127.0.0.1:8080`
   * (host:port pins the port), `*` for any. Empty: every http step is refused.
   */
  readonly httpAllow: ReadonlyArray<string>
  /** Default budget of one http step attempt (a step's `timeoutMs` overrides it). */
  readonly httpTimeoutMs: number
  /** Largest http step response body kept (bytes). */
  readonly httpMaxResponseBytes: number
  /** How often the cron scheduler looks for due ticks. */
  readonly schedulerIntervalMs: number
  /** Deepest sub-workflow nesting a run may reach. */
  readonly maxDepth: number
  /** Largest output (JSON bytes) one step may produce; above it the step fails instead of being journaled. */
  readonly maxStepOutputBytes: number
  /**
   * Largest total of a run's step results (JSON bytes; `set` steps' values, so `vars`, included).
   * A loop that doubles a value reaches any limit in a few iterations: the run fails instead.
   */
  readonly maxRunDataBytes: number
  /** Shortest interval between two ticks of a cron schedule; a faster schedule is refused (400). */
  readonly minCronIntervalSeconds: number
  /**
   * Runs a project may have in progress (pending or running: not waiting for an approval or a
   * long `wait`) before starting another answers 429 (cron ticks and sub-workflows are not refused).
   */
  readonly maxActiveRunsPerProject: number
}

const workflowsSettings: Config.Config<WorkflowsConfigShape> = Config.all({
  httpAllow: Config.array(Config.string(), "WORKFLOW_HTTP_ALLOW").pipe(Config.withDefault([])),
  httpTimeoutMs: Values.positiveInteger("WORKFLOW_HTTP_TIMEOUT_MS").pipe(Config.withDefault(30_000)),
  httpMaxResponseBytes: Values.positiveInteger("WORKFLOW_HTTP_MAX_RESPONSE_BYTES").pipe(Config.withDefault(1024 * 1024)),
  schedulerIntervalMs: Values.positiveInteger("WORKFLOW_SCHEDULER_INTERVAL_MS").pipe(Config.withDefault(1000)),
  maxDepth: Values.positiveInteger("WORKFLOW_MAX_DEPTH").pipe(Config.withDefault(5)),
  maxStepOutputBytes: Values.positiveInteger("WORKFLOW_MAX_STEP_OUTPUT_BYTES").pipe(Config.withDefault(1024 * 1024)),
  maxRunDataBytes: Values.positiveInteger("WORKFLOW_MAX_RUN_DATA_BYTES").pipe(Config.withDefault(8 * 1024 * 1024)),
  minCronIntervalSeconds: Values.positiveInteger("WORKFLOW_MIN_CRON_INTERVAL_SECONDS").pipe(Config.withDefault(60)),
  maxActiveRunsPerProject: Values.positiveInteger("WORKFLOW_MAX_ACTIVE_RUNS_PER_PROJECT").pipe(Config.withDefault(1000))
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class WorkflowsConfig extends Context.Tag("Workflows/Config")<WorkflowsConfig, WorkflowsConfigShape>() {
  static readonly config = workflowsSettings
  static readonly layer = Layer.effect(WorkflowsConfig, workflowsSettings)
  static readonly layerWith = (overrides: Partial<WorkflowsConfigShape>) =>
    Layer.effect(WorkflowsConfig, Effect.map(workflowsSettings, (settings) => ({ ...settings, ...overrides })))
}
