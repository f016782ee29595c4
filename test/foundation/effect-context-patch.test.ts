import { describe, expect, test } from "bun:test"
import { Context, Differ, Effect, Exit, Scope } from "effect"

/**
 * Applying a Context patch as patched (patches/effect@3.22.4.patch): the patches still to apply
 * are kept on an array used as a stack instead of a Chunk. What callers see must not change: a
 * diff applied to its old context gives the new one, and the halves of a combined patch apply
 * first, then second. `Effect.addFinalizer` relies on it when another fiber closes the scope.
 */
const differ = Differ.environment<unknown>()
const tags = Array.from({ length: 400 }, (_, i) => Context.GenericTag<unknown>(`test/ContextPatch/${i}`))

/** A context holding `tags[from..to)`, each with `value(i)`. */
const contextOf = (from: number, to: number, value: (i: number) => unknown) => {
  let context = Context.empty() as Context.Context<unknown>
  for (let i = from; i < to; i++) context = Context.add(context, tags[i]!, value(i))
  return context
}

const entries = (context: Context.Context<unknown>) => new Map(context.unsafeMap)

describe("Context patches (patched)", () => {
  test("a diff of two mostly unrelated contexts, applied to the old one, gives the new one", () => {
    // 0..250 old, 150..400 new: 150 removed, 150 added, 100 shared of which half changed.
    const older = contextOf(0, 250, (i) => `old ${i}`)
    const newer = contextOf(150, 400, (i) => (i < 200 ? `new ${i}` : `old ${i}`))
    const patched = differ.patch(differ.diff(older, newer), older)
    expect(entries(patched)).toEqual(entries(newer))
    // And back.
    expect(entries(differ.patch(differ.diff(newer, older), newer))).toEqual(entries(older))
  })

  test("a combined patch applies its first half, then its second", () => {
    const base = contextOf(0, 3, () => "base")
    const one = Context.add(base, tags[0]!, "one")
    const two = Context.add(Context.omit(tags[1]!)(base), tags[0]!, "two")
    const first = differ.diff(base, one)
    const second = differ.diff(base, two)
    const both = differ.patch(differ.combine(first, second), base)
    expect(Context.unsafeGet(both, tags[0]!)).toBe("two")
    expect(both.unsafeMap.has(tags[1]!.key)).toBe(false)
    const reversed = differ.patch(differ.combine(second, first), base)
    expect(Context.unsafeGet(reversed, tags[0]!)).toBe("one")
    expect(reversed.unsafeMap.has(tags[1]!.key)).toBe(false)
    // Nested deeply (one AndThen per step): every step applied, in order.
    const empty = Context.empty() as Context.Context<unknown>
    let chain = differ.empty
    for (let i = 0; i < 400; i++) chain = differ.combine(chain, differ.diff(empty, contextOf(i, i + 1, () => i)))
    const applied = differ.patch(chain, empty)
    expect(tags.map((tag) => Context.unsafeGet(applied, tag))).toEqual(tags.map((_, i) => i))
  })

  test("a finalizer run by another fiber sees the context it was added in", async () => {
    const seen = await Effect.gen(function*() {
      const scope = yield* Scope.make()
      const seen: Array<unknown> = []
      yield* Effect.addFinalizer(() => Effect.map(tags[0]!, (v) => void seen.push(v))).pipe(
        Scope.extend(scope),
        Effect.provide(contextOf(0, 200, (i) => `acquired ${i}`))
      )
      // Closed from a fiber whose context shares nothing with the one the finalizer was added in.
      yield* Effect.fork(Scope.close(scope, Exit.void)).pipe(
        Effect.flatMap((fiber) => fiber.await),
        Effect.provide(contextOf(200, 400, (i) => `closer ${i}`))
      )
      return seen
    }).pipe(Effect.runPromise)
    expect(seen).toEqual(["acquired 0"])
  })
})
