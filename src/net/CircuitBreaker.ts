import { Clock, Data, Effect } from "effect"

/** Calls to `key` are refused without being made: it failed too often in a row. */
export class CircuitOpen extends Data.TaggedError("CircuitOpen")<{
  readonly key: string
  /** Until the next trial call is let through. */
  readonly retryInMs: number
}> {}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number
  /** How long an open circuit refuses calls before one trial call is let through (half-open). */
  readonly coolDownMs: number
}

interface Circuit {
  failures: number
  /** Set while open: when it opened (or when its last trial failed). */
  openedAt: number | undefined
  /** A half-open trial call is in flight: every other call is still refused. */
  trial: boolean
}

const MAX_CIRCUITS = 10_000

/**
 * Per-target circuit breakers for outbound calls (remote A2A agents, MCP servers): a target that
 * keeps failing is not hammered by every retry of every message meant for it. Closed: calls go
 * through, consecutive failures are counted, a success resets the count. Open (after
 * `failureThreshold` failures): calls fail at once with CircuitOpen for `coolDownMs`. Half-open:
 * one trial call goes through; its success closes the circuit, its failure opens it again.
 * Only failures `isFailure` accepts count (a target that answers with an error is up). In memory,
 * per process: each node learns about a target on its own.
 */
export const makeCircuitBreaker = (options: CircuitBreakerOptions) => {
  const circuits = new Map<string, Circuit>()

  const forget = () => {
    // Bounded: tenants choose targets. Closed circuits carry only a failure count; drop those first.
    for (const [key, c] of circuits) if (c.openedAt === undefined) circuits.delete(key)
    if (circuits.size > MAX_CIRCUITS) circuits.clear()
  }

  const guard = <A, E, R>(
    key: string,
    call: Effect.Effect<A, E, R>,
    isFailure: (error: E) => boolean
  ): Effect.Effect<A, E | CircuitOpen, R> =>
    Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<A, E | CircuitOpen, R> => {
      const circuit = circuits.get(key)
      let isTrial = false
      if (circuit?.openedAt !== undefined) {
        const retryInMs = circuit.openedAt + options.coolDownMs - now
        if (retryInMs > 0 || circuit.trial) return Effect.fail(new CircuitOpen({ key, retryInMs: Math.max(0, retryInMs) }))
        circuit.trial = true
        isTrial = true
      }
      const settle = (failed: boolean) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.sync(() => {
            if (!failed) {
              circuits.delete(key)
              return
            }
            if (circuits.size >= MAX_CIRCUITS && !circuits.has(key)) forget()
            const c = circuits.get(key) ?? { failures: 0, openedAt: undefined, trial: false }
            c.failures++
            c.trial = false
            if (isTrial || c.failures >= options.failureThreshold) c.openedAt = at
            circuits.set(key, c)
          }))
      return call.pipe(
        Effect.tapBoth({
          onFailure: (error) => settle(isFailure(error)),
          onSuccess: () => settle(false)
        }),
        // An interrupted trial proves nothing: the next call may try again.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            const c = circuits.get(key)
            if (isTrial && c !== undefined) c.trial = false
          })
        )
      )
    })

  /** Whether calls to `key` are being refused now (for reports and tests). */
  const isOpen = (key: string) => circuits.get(key)?.openedAt !== undefined

  return { guard, isOpen } as const
}

export type CircuitBreaker = ReturnType<typeof makeCircuitBreaker>
