import { Chunk, Clock, Duration, Effect, TestClock } from "effect"

/**
 * Polls `check` on real time until it holds. Under TestClock, work that waits
 * on real I/O (SQL, sockets, workers) still finishes on its own; only Effect
 * sleeps wait for the test clock, so the poll must not use them.
 */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, timeoutMs = 10_000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + timeoutMs
    while (!(yield* check)) {
      if (performance.now() > deadline) return yield* Effect.dieMessage(`condition not met within ${timeoutMs} ms`)
      yield* Effect.promise(() => Bun.sleep(2))
    }
  })

const sleepsUntil = (at: number) => Effect.map(TestClock.sleeps(), Chunk.some((s) => s === at))

/**
 * Waits until a fiber repeating on `Schedule.spaced(interval)` that started
 * its run at the current test time has finished it (it parked on the next one).
 */
export const awaitParked = (interval: Duration.DurationInput) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => eventually(sleepsUntil(now + Duration.toMillis(interval))))

/**
 * For a background fiber repeating on `Schedule.spaced(interval)` that last ran
 * at the current test time: waits until it is parked on its next run,
 * moves the TestClock to that run, and waits until the run finished (the
 * fiber parked again, one interval later). Waiting on the parked sleep rather
 * than adjusting blindly keeps a run from being skipped while it is in I/O.
 */
export const runNextTick = (interval: Duration.DurationInput) =>
  Effect.gen(function*() {
    const ms = Duration.toMillis(interval)
    const now = yield* Clock.currentTimeMillis
    yield* eventually(sleepsUntil(now + ms))
    yield* TestClock.adjust(ms)
    yield* eventually(sleepsUntil(now + 2 * ms))
  })
