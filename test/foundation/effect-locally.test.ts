import { describe, expect, test } from "bun:test"
import { Context, Deferred, Effect, Exit, Fiber, FiberRef } from "effect"

/**
 * `Effect.locally` as patched (patches/effect@3.22.4.patch): the value is swapped on the
 * fiber and put back by one frame instead of acquireUseRelease. These are the guarantees
 * the rest of the platform leans on (provideService, withSpan, annotateLogs are all
 * `locally`): the old value comes back however `use` ends, and `use` keeps its caller's
 * interruptibility.
 */
const ref = FiberRef.unsafeMake("outer")
const read = FiberRef.get(ref)

describe("Effect.locally (patched)", () => {
  test("the value holds inside and the old one is back after success, failure and defect", async () => {
    const seen = await Effect.gen(function*() {
      const inside = yield* Effect.locally(read, ref, "inner")
      const afterSuccess = yield* read
      const failed = yield* Effect.exit(Effect.locally(Effect.zipRight(read, Effect.fail("boom")), ref, "inner"))
      const afterFailure = yield* read
      const died = yield* Effect.exit(Effect.locally(Effect.die("bug"), ref, "inner"))
      const afterDefect = yield* read
      return { inside, afterSuccess, failed, afterFailure, died, afterDefect }
    }).pipe(Effect.runPromise)
    expect(seen.inside).toBe("inner")
    expect(seen.afterSuccess).toBe("outer")
    expect(Exit.isFailure(seen.failed)).toBe(true)
    expect(seen.afterFailure).toBe("outer")
    expect(Exit.isFailure(seen.died)).toBe(true)
    expect(seen.afterDefect).toBe("outer")
  })

  test("nested and sequential uses restore in order", async () => {
    const values = await Effect.gen(function*() {
      const out: Array<string> = []
      yield* Effect.locally(
        Effect.gen(function*() {
          out.push(yield* read)
          yield* Effect.locally(Effect.flatMap(read, (v) => Effect.sync(() => out.push(v))), ref, "b")
          out.push(yield* read)
        }),
        ref,
        "a"
      )
      out.push(yield* read)
      return out
    }).pipe(Effect.runPromise)
    expect(values).toEqual(["a", "b", "a", "outer"])
  })

  test("an interrupted use is interrupted, and a finalizer after it sees the old value", async () => {
    const result = await Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const seenByFinalizer = yield* Deferred.make<string>()
      const fiber = yield* Effect.fork(
        Effect.locally(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never), ref, "inner").pipe(
          Effect.onInterrupt(() => Effect.flatMap(read, (v) => Deferred.succeed(seenByFinalizer, v)))
        )
      )
      yield* Deferred.await(started)
      const exit = yield* Fiber.interrupt(fiber)
      return { interrupted: Exit.isInterrupted(exit), finalizerSaw: yield* Deferred.await(seenByFinalizer) }
    }).pipe(Effect.runPromise)
    expect(result.interrupted).toBe(true)
    expect(result.finalizerSaw).toBe("outer")
  })

  test("use keeps its caller's interruptibility: uninterruptible inside an uninterruptible region", async () => {
    const flags = await Effect.gen(function*() {
      const interruptibleInside = yield* Effect.locally(Effect.checkInterruptible(Effect.succeed), ref, "x")
      const uninterruptibleInside = yield* Effect.uninterruptible(Effect.locally(Effect.checkInterruptible(Effect.succeed), ref, "x"))
      return { interruptibleInside, uninterruptibleInside }
    }).pipe(Effect.runPromise)
    expect(flags.interruptibleInside).toBe(true)
    expect(flags.uninterruptibleInside).toBe(false)
  })

  test("provideService is scoped to its effect (a locally of the context)", async () => {
    class Tag extends Context.Tag("test/LocallyTag")<Tag, string>() {}
    const result = await Effect.gen(function*() {
      const inside = yield* Effect.provideService(Tag, "provided")(Tag)
      const after = yield* Effect.serviceOption(Tag)
      return { inside, after: after._tag }
    }).pipe(Effect.runPromise)
    expect(result).toEqual({ inside: "provided", after: "None" })
  })
})
