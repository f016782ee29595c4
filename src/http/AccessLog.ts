import type { HashSet, Logger, Tracer } from "effect"

/** The fields of a request's INFO access line (the annotations of its `http` message). */
export type AccessLine = {
  readonly requestId: string
  readonly method: string
  readonly path: string
  readonly status: number
  readonly durationMs: number
}

/**
 * A port (src/observability/Logging.ts fills it, src/app passes it): the access line written
 * without a log call, by the request middleware and the HTTP fast path alike, so their lines
 * cannot differ. A log call per request costs a fiber step and a copy of the fiber's refs (the
 * INFO access log was 65–110 µs of a request's CPU, issue #18).
 */
export interface AccessLog {
  /** Whether a fiber with these loggers is served by `write` (else it logs through Effect). */
  readonly handles: (loggers: HashSet.HashSet<Logger.Logger<unknown, unknown>>) => boolean
  /** Writes the line under the request's server span (its ids, and the span event a log call adds). */
  readonly write: (line: AccessLine, span: Tracer.Span | undefined, nowNanos: () => bigint) => void
}
