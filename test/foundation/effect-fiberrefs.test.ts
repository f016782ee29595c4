import { describe, expect, test } from "bun:test"
import { Context, Data, Effect, FiberId, FiberRef, FiberRefs } from "effect"

/**
 * `FiberRefs.updateAs` as patched (patches/effect@3.22.4.patch): setting the value a fiber
 * already holds answers the same FiberRefs (no copy of the Map), and a Context is compared by
 * reference, not walked service by service. What callers see must not change: the value read
 * back is the value set, and values inherited from another fiber still get this fiber's entry.
 */
const Greeting = Context.GenericTag<string>("test/Greeting")
const Other = Context.GenericTag<number>("test/Other")
const self = FiberId.runtime(1, 0)
const parent = FiberId.runtime(2, 0)
const ref = FiberRef.unsafeMake<unknown>("initial")

describe("FiberRefs.updateAs (patched)", () => {
  test("setting the value this fiber already holds answers the same FiberRefs", () => {
    const value = { n: 1 }
    const refs = FiberRefs.updateAs(FiberRefs.empty(), { fiberId: self, fiberRef: ref, value })
    expect(FiberRefs.updateAs(refs, { fiberId: self, fiberRef: ref, value })).toBe(refs)
  })

  test("a value held for another fiber still gets this fiber's own entry", () => {
    const value = { n: 1 }
    const inherited = FiberRefs.updateAs(FiberRefs.empty(), { fiberId: parent, fiberRef: ref, value })
    const mine = FiberRefs.updateAs(inherited, { fiberId: self, fiberRef: ref, value })
    expect(mine).not.toBe(inherited)
    // The join of a child into its parent reads these stacks: the child's own entry must be there.
    const joined = FiberRefs.joinAs(inherited, parent, FiberRefs.updateAs(mine, { fiberId: self, fiberRef: ref, value: { n: 2 } }))
    expect(FiberRefs.getOrDefault(joined, ref)).toEqual({ n: 2 })
  })

  test("an equal but distinct Context replaces the held one; a different one is read back", () => {
    const a = Context.make(Greeting, "hi").pipe(Context.add(Other, 1))
    const sameContent = Context.make(Greeting, "hi").pipe(Context.add(Other, 1))
    const different = Context.make(Greeting, "hello").pipe(Context.add(Other, 1))
    const refs = FiberRefs.updateAs(FiberRefs.empty(), { fiberId: self, fiberRef: ref, value: a })
    const replaced = FiberRefs.updateAs(refs, { fiberId: self, fiberRef: ref, value: sameContent })
    expect(FiberRefs.getOrDefault(replaced, ref)).toBe(sameContent)
    const changed = FiberRefs.updateAs(replaced, { fiberId: self, fiberRef: ref, value: different })
    expect(Context.get(FiberRefs.getOrDefault(changed, ref) as Context.Context<string>, Greeting)).toBe("hello")
  })

  test("other values keep Equal semantics: an equal value leaves the held one", () => {
    class Point extends Data.Class<{ x: number }> {}
    const held = new Point({ x: 1 })
    const refs = FiberRefs.updateAs(FiberRefs.empty(), { fiberId: self, fiberRef: ref, value: held })
    const again = FiberRefs.updateAs(refs, { fiberId: self, fiberRef: ref, value: new Point({ x: 1 }) })
    expect(FiberRefs.getOrDefault(again, ref)).toBe(held)
  })

  test("provideService inside a fiber still sees its service and the outer one after", async () => {
    const seen = await Effect.gen(function*() {
      const inner = yield* Effect.provideService(Greeting, "inner")(Greeting)
      const outer = yield* Greeting
      return { inner, outer }
    }).pipe(Effect.provideService(Greeting, "outer"), Effect.runPromise)
    expect(seen).toEqual({ inner: "inner", outer: "outer" })
  })
})
