import { Context, Effect, Layer } from "effect"

/** One agent-to-agent hop, as Observability draws it (GET /observability/a2a). */
export interface A2AFlow {
  readonly from: string
  readonly to: string
  readonly method: string
  readonly durationMs: number
  /** `cancelled`: the caller went away before the answer ended (a dropped stream), neither ok nor an error. */
  readonly status: "ok" | "error" | "cancelled"
  readonly projectId: string | null
  readonly traceId: string | null
  readonly error?: string
}

/**
 * Contract: where Agents/Orchestrator record every A2A hop. Observability
 * provides the SQL-backed implementation; `discard` is for code paths that do
 * not track flows (and for unit tests of other services).
 */
export class A2AFlowRecorder extends Context.Tag("Observability/A2AFlowRecorder")<
  A2AFlowRecorder,
  { readonly record: (flow: A2AFlow) => Effect.Effect<void> }
>() {
  static readonly discard = Layer.succeed(A2AFlowRecorder, { record: () => Effect.void })
}
