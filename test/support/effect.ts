import { Effect, Layer, ManagedRuntime, TestContext } from "effect"

/** Runs an Effect with the live clock (servers, sockets, real time). */
export const runLive = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** Runs an Effect with TestClock & co. (time only moves when the test says so). */
export const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestContext.TestContext))

/**
 * A layer built once per suite: `const rt = suiteRuntime(MyLayer)` in the file,
 * `afterAll(() => rt.dispose())`, then `await rt.runPromise(effect)` in tests.
 */
export const suiteRuntime = <R, E>(layer: Layer.Layer<R, E>) => ManagedRuntime.make(layer)
