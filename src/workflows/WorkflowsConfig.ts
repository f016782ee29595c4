import { Config, Context, Effect, Layer } from "effect"

/** Workflow engine settings: http step allow-list, cron scheduler, sub-workflow depth. */
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
}

const workflowsSettings: Config.Config<WorkflowsConfigShape> = Config.all({
  httpAllow: Config.array(Config.string(), "WORKFLOW_HTTP_ALLOW").pipe(Config.withDefault([])),
  httpTimeoutMs: Config.integer("WORKFLOW_HTTP_TIMEOUT_MS").pipe(Config.withDefault(30_000)),
  httpMaxResponseBytes: Config.integer("WORKFLOW_HTTP_MAX_RESPONSE_BYTES").pipe(Config.withDefault(1024 * 1024)),
  schedulerIntervalMs: Config.integer("WORKFLOW_SCHEDULER_INTERVAL_MS").pipe(Config.withDefault(1000)),
  maxDepth: Config.integer("WORKFLOW_MAX_DEPTH").pipe(Config.withDefault(5))
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class WorkflowsConfig extends Context.Tag("Workflows/Config")<WorkflowsConfig, WorkflowsConfigShape>() {
  static readonly config = workflowsSettings
  static readonly layer = Layer.effect(WorkflowsConfig, workflowsSettings)
  static readonly layerWith = (overrides: Partial<WorkflowsConfigShape>) =>
    Layer.effect(WorkflowsConfig, Effect.map(workflowsSettings, (settings) => ({ ...settings, ...overrides })))
}
