/**
 * At most `max` of something held at once per key (a caller's open streams): `take` answers
 * the function that gives the slot back (once), or undefined when the key holds `max`.
 * Synchronous, for one process.
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
  return { take } as const
}
