import { Deferred, Effect } from "effect"
import { QueryFailed, StatementTimedOut } from "../domain/SqlTool.ts"

interface Reply {
  readonly id: number
  readonly rows?: ReadonlyArray<Record<string, unknown>>
  readonly error?: { readonly message: string; readonly code?: string }
}

/**
 * One worker per SQLite connection for user statements, one statement at a
 * time. A statement past its timeout terminates the worker (the only way to
 * stop a synchronous SQLite call); the next statement starts a fresh one.
 */
export const makeSqliteWorkerRunner = (filename: string) =>
  Effect.gen(function*() {
    let worker: Worker | undefined
    let nextId = 0
    const pending = new Map<number, Deferred.Deferred<ReadonlyArray<Record<string, unknown>>, QueryFailed>>()
    const lock = yield* Effect.makeSemaphore(1)

    const spawn = () => {
      const w = new Worker(new URL("./sqliteQueryWorker.ts", import.meta.url).href)
      w.onmessage = (event: MessageEvent<Reply>) => {
        const { id, rows, error } = event.data
        const deferred = pending.get(id)
        if (!deferred) return
        pending.delete(id)
        Deferred.unsafeDone(
          deferred,
          error
            ? Effect.fail(new QueryFailed({ message: error.message, ...(error.code ? { code: error.code } : {}) }))
            : Effect.succeed(rows ?? [])
        )
      }
      return w
    }

    const kill = () => {
      worker?.terminate()
      worker = undefined
    }
    yield* Effect.addFinalizer(() => Effect.sync(kill))

    const run = (sql: string, params: ReadonlyArray<string | number | boolean | null>, timeoutMs: number) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const id = ++nextId
        const deferred = yield* Deferred.make<ReadonlyArray<Record<string, unknown>>, QueryFailed>()
        pending.set(id, deferred)
        worker ??= spawn()
        worker.postMessage({ id, filename, sql, params })
        return yield* Deferred.await(deferred).pipe(
          Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new StatementTimedOut({ timeoutMs }) }),
          Effect.tapError((e) => e._tag === "StatementTimedOut" ? Effect.sync(kill) : Effect.void),
          Effect.ensuring(Effect.sync(() => pending.delete(id)))
        )
      }))

    return { run } as const
  })

export type SqliteWorkerRunner = Effect.Effect.Success<ReturnType<typeof makeSqliteWorkerRunner>>
