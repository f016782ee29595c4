import { Effect, Exit, Runtime } from "effect"

/**
 * Group commit for one kind of write: a write goes to the database at once when none of its
 * kind is in flight; writes that arrive meanwhile wait for that statement and go together in
 * the next one (one statement, one transaction, one commit for the group). Not a timer: a
 * lone writer waits only for the fibers runnable now. A caller is answered after its
 * statement committed, so it is as durable as a write of its own. When a group's statement
 * fails, each of its items is retried alone (`single`), so one bad item fails only itself.
 *
 * `run` answers each item by index; `undefined` for an item sends it through `single` too
 * (BatchedMessageStorage: a request the group's INSERT did not insert is read back alone).
 * Used by the workflow step journal and the cluster's message storage.
 */
export const groupCommit = <A, B, R, E = never>(options: {
  readonly run: (items: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B | undefined>, unknown, R>
  readonly single: (item: A) => Effect.Effect<B, E, R>
  /** Statements of this kind in flight at once. */
  readonly inFlight: number
  /** Items per statement at most. */
  readonly maxGroup: number
}): Effect.Effect<(item: A) => Effect.Effect<B, E>, never, R> =>
  Effect.map(Effect.runtime<R>(), (runtime) => {
    type Pending = { readonly item: A; readonly resume: (effect: Effect.Effect<B, E>) => void }
    let pending: Array<Pending> = []
    let inFlight = 0
    let scheduled = false
    const runFork = Runtime.runFork(runtime)

    const flush = () => {
      scheduled = false
      while (pending.length > 0 && inFlight < options.inFlight) {
        const group = pending.length <= options.maxGroup ? pending : pending.slice(0, options.maxGroup)
        pending = pending.length <= options.maxGroup ? [] : pending.slice(options.maxGroup)
        inFlight++
        const fiber = runFork(Effect.exit(options.run(group.map((p) => p.item))))
        fiber.addObserver((exit) => {
          inFlight--
          const results = Exit.isSuccess(exit) && Exit.isSuccess(exit.value) ? exit.value.value : undefined
          for (let i = 0; i < group.length; i++) {
            const result = results?.[i]
            group[i].resume(result === undefined ? Effect.provide(options.single(group[i].item), runtime) : Effect.succeed(result))
          }
          if (pending.length > 0) flush()
        })
      }
    }

    return (item: A) =>
      Effect.async<B, E>((resume) => {
        pending.push({ item, resume })
        if (!scheduled && inFlight < options.inFlight) {
          scheduled = true
          setImmediate(flush)
        }
      })
  })
