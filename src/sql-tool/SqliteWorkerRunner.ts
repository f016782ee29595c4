import type { Subprocess } from "bun"
import { Deferred, Effect } from "effect"
import { fileURLToPath } from "node:url"
import { QueryFailed, StatementTimedOut } from "../domain/SqlTool.ts"
import type { SqliteReply, SqliteRequest } from "./sqliteQueryWorker.ts"

type Rows = ReadonlyArray<Record<string, unknown>>

export interface SqliteOutcome {
  readonly rows: Rows
  /** Rows changed, for writes. */
  readonly changes: number
}

/** Codes the child answers with that are this driver's own, not SQLite's. */
const ownCodes = new Set(["result_too_large", "value_too_large"])

/**
 * One child process per SQLite connection for user statements (reads, and
 * writes on writable connections), one statement at a time (see sqliteQueryWorker.ts for why a process and not a thread). A
 * statement past its timeout kills the process with SIGKILL, which stops the
 * CPU work at once; the next statement starts a fresh one. A result refused
 * for its size also ends the process, so the memory it took goes back, and
 * so does a process idle for `idleMs` (SQL_TOOL_SQLITE_WORKER_IDLE_MS): each
 * is a whole Bun runtime (tens of MB), and a tenant may open many SQLite
 * connections; the next statement pays a fresh start (tens of ms) instead.
 */
export const makeSqliteWorkerRunner = (filename: string, idleMs: number) =>
  Effect.gen(function*() {
    let child: { readonly proc: Subprocess<"ignore", "ignore", "inherit">; readonly sent: Set<number> } | undefined
    let nextId = 0
    const pending = new Map<number, Deferred.Deferred<SqliteOutcome, QueryFailed>>()
    const lock = yield* Effect.makeSemaphore(1)
    let idleTimer: ReturnType<typeof setTimeout> | undefined

    const spawn = () => {
      // Requests sent to THIS process: only they fail when it exits.
      const sent = new Set<number>()
      const proc = Bun.spawn([process.execPath, fileURLToPath(new URL("./sqliteQueryWorker.ts", import.meta.url))], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "inherit",
        // Nothing of the platform's environment (keys, database URLs) goes to the child.
        env: {},
        // Structured clone: blobs arrive as bytes and big integers as bigint, as bun:sqlite gives them.
        serialization: "advanced",
        ipc: (reply: SqliteReply) => {
          const deferred = pending.get(reply.id)
          if (!deferred) return
          pending.delete(reply.id)
          Deferred.unsafeDone(
            deferred,
            reply.error
              ? Effect.fail(new QueryFailed({ message: reply.error.message, ...(reply.error.code ? { code: reply.error.code } : {}) }))
              : Effect.succeed({ rows: reply.rows ?? [], changes: reply.changes ?? 0 })
          )
        },
        onExit: () => {
          if (child?.sent === sent) child = undefined
          for (const id of sent) {
            const deferred = pending.get(id)
            pending.delete(id)
            if (deferred) Deferred.unsafeDone(deferred, Effect.fail(new QueryFailed({ message: "the SQLite worker stopped" })))
          }
        }
      })
      return { proc, sent }
    }

    const kill = () => {
      const current = child
      child = undefined
      current?.proc.kill("SIGKILL")
      return current?.proc
    }
    // The next statement starts only once the killed process is gone: a dying one still holds
    // its file lock, and the next opener would find the database locked (SQLITE_BUSY).
    const killAndWait = Effect.suspend(() => {
      const proc = kill()
      return proc === undefined ? Effect.void : Effect.promise(() => proc.exited).pipe(Effect.timeoutOption(2_000), Effect.asVoid)
    })
    /**
     * A write killed mid-transaction leaves a hot journal: SQLite rolls it back at the next
     * read-write open, but a read-only handle cannot, and every read fails with "attempt to
     * write a readonly database" until some writer opens the file. So the runner opens it for
     * writing once (an empty write transaction in a fresh worker) before the next statement.
     */
    let journalToRecover = false
    /** Kills the worker of a statement stopped midway; a write's journal is then recovered first. */
    const stopStatement = (mode: "read" | "write") =>
      Effect.suspend(() => {
        if (mode === "write") journalToRecover = true
        return killAndWait
      })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        clearTimeout(idleTimer)
        kill()
      })
    )
    const stopIdleTimer = () => clearTimeout(idleTimer)
    const startIdleTimer = () => {
      clearTimeout(idleTimer)
      idleTimer = setTimeout(kill, idleMs)
      idleTimer.unref?.()
    }

    const run = (
      sql: string,
      params: ReadonlyArray<string | number | boolean | null>,
      limits: { readonly timeoutMs: number; readonly maxResultBytes: number; readonly maxValueBytes: number },
      mode: "read" | "write" = "read"
    ) =>
      lock.withPermits(1)(Effect.gen(function*() {
        if (journalToRecover) {
          journalToRecover = false
          yield* send("SELECT 1", [], { timeoutMs: 5_000, maxResultBytes: 1024, maxValueBytes: 1024 }, "write").pipe(Effect.ignore)
        }
        return yield* send(sql, params, limits, mode)
      }))

    /** One statement to the worker (spawned if none); the caller holds the lock. */
    const send = (
      sql: string,
      params: ReadonlyArray<string | number | boolean | null>,
      limits: { readonly timeoutMs: number; readonly maxResultBytes: number; readonly maxValueBytes: number },
      mode: "read" | "write"
    ) =>
      Effect.gen(function*() {
        stopIdleTimer()
        const id = ++nextId
        const deferred = yield* Deferred.make<SqliteOutcome, QueryFailed>()
        pending.set(id, deferred)
        child ??= spawn()
        const request: SqliteRequest = {
          id,
          filename,
          sql,
          params,
          mode,
          maxResultBytes: limits.maxResultBytes,
          maxValueBytes: limits.maxValueBytes
        }
        child.sent.add(id)
        child.proc.send(request)
        return yield* Deferred.await(deferred).pipe(
          Effect.timeoutFail({ duration: limits.timeoutMs, onTimeout: () => new StatementTimedOut({ timeoutMs: limits.timeoutMs }) }),
          Effect.tapError((e) =>
            e._tag === "StatementTimedOut" || (e.code !== undefined && ownCodes.has(e.code)) ? stopStatement(mode) : Effect.void
          ),
          // An interrupted caller (client gone) must not leave the statement running either.
          Effect.onInterrupt(() => stopStatement(mode)),
          Effect.ensuring(Effect.sync(() => {
            pending.delete(id)
            startIdleTimer()
          }))
        )
      })

    return { run } as const
  })

export type SqliteWorkerRunner = Effect.Effect.Success<ReturnType<typeof makeSqliteWorkerRunner>>
