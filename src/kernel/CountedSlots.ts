import { Effect } from "effect"

/**
 * At most `max` of something held at once per key (a caller's open streams): `take` answers
 * the function that gives the slot back (once), or undefined when the key holds `max`;
 * `holding` runs an Effect in a slot. For one process.
 */
export const countedSlots = (max: number) => {
  const held = new Map<string, number>()
  const take = (key: string): (() => void) | undefined => {
    const n = held.get(key) ?? 0
    if (n >= max) return undefined
    held.set(key, n + 1)
    let given = false
    return () => {
      if (given) return
      given = true
      const left = (held.get(key) ?? 1) - 1
      if (left <= 0) held.delete(key)
      else held.set(key, left)
    }
  }
  /** Runs `effect` holding one of `key`'s slots, given back however it ends; fails with `whenFull()` when the key holds `max`. */
  const holding = <A, E, R, E2>(key: string, effect: Effect.Effect<A, E, R>, whenFull: () => E2) =>
    Effect.acquireUseRelease(
      Effect.suspend(() => {
        const release = take(key)
        return release === undefined ? Effect.fail(whenFull()) : Effect.succeed(release)
      }),
      () => effect,
      (release) => Effect.sync(release)
    )
  return { take, holding } as const
}
