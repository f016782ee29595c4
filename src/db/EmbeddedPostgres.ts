import { Context, Data, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { isInitialized, lockDataDir, restoreTemplate, saveTemplate } from "./embedded/DataDir.ts"
import { takeEarly } from "./embedded/EarlyStart.ts"
import type { WorkerReply, WorkerRequest } from "./embedded/WorkerProtocol.ts"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * An embedded Postgres (PGlite + pgvector) on its own worker thread, served
 * over the Postgres wire protocol on loopback, so the rest of the platform
 * talks to it through the same `@effect/sql-pg` client it uses for a real
 * server.
 *
 * PGlite is ONE session: the worker lets one pool connection own it at a
 * time (embedded/SessionMultiplexer.ts). Safe for this process only: a lock
 * file in the data dir stops a second process from opening the same
 * directory (which would corrupt it).
 *
 * The loopback port asks for a password made fresh at each start and known
 * only to this process's pool: anything else on the machine (another
 * process, or a tenant's SQL-tool connection aimed at 127.0.0.1:<port>)
 * cannot reach the platform's own database, whose statement timeouts PGlite
 * cannot enforce (one WebAssembly session, no timer interrupts).
 */
export class EmbeddedPostgres extends Context.Tag("Platform/EmbeddedPostgres")<
  EmbeddedPostgres,
  {
    readonly host: string
    readonly port: number
    readonly dataDir: string
    readonly password: Redacted.Redacted<string>
  }
>() {
  static readonly layer = (options: {
    readonly dataDir: string
    readonly maxConnections: number
    /** Postgres size, e.g. "16MB". */
    readonly sharedBuffers: string
    /** Where the pre-initialised data dir is kept (embedded/DataDir.ts); unset: initdb for every fresh dir. */
    readonly templateDir?: string | undefined
  }) =>
    Layer.scoped(EmbeddedPostgres, make(options))
}

const make = Effect.fn("EmbeddedPostgres.start")(function*(options: {
  readonly dataDir: string
  readonly maxConnections: number
  readonly sharedBuffers: string
  readonly templateDir?: string | undefined
}) {
  const dataDir = path.resolve(options.dataDir, "pg")
  const { sharedBuffers } = options
  // Before the lock: a worker main.ts opened for other settings is stopped and its lock released first.
  const early = yield* Effect.promise(() => takeEarly(dataDir, sharedBuffers))
  yield* acquireDirLock(path.resolve(options.dataDir))
  if (early !== undefined) {
    yield* Effect.acquireRelease(Effect.sync(() => {
      // Bun's Worker has ref()/unref() (not in its type): started unref'd, it now belongs to this scope.
      ;(early.worker as Worker & { ref: () => void }).ref()
      return early.worker
    }), stopWorker)
    const reply = yield* Effect.promise(() => early.opened)
    const port = yield* openedPort(reply, dataDir, false)
    yield* Effect.logDebug("embedded postgres ready (opened at process start)").pipe(Effect.annotateLogs({ dataDir, port }))
    return { host: "127.0.0.1", port, dataDir, password: Redacted.make(early.password) }
  }
  if (!isInitialized(dataDir) && !restoreTemplate(options.templateDir, dataDir)) {
    // initdb grows the WebAssembly heap to ~600 MB and it never shrinks: create the data dir in
    // a worker of its own that is then ended, and serve from a fresh one.
    yield* Effect.scoped(Effect.flatMap(startWorker, (init) => open(init, dataDir, sharedBuffers, true)))
    const saved = saveTemplate(options.templateDir, dataDir)
    yield* Effect.logDebug("embedded postgres initialised").pipe(Effect.annotateLogs({ dataDir, templateSaved: saved }))
  }
  const password = randomBytes(32).toString("base64url")
  const port = yield* Effect.flatMap(startWorker, (worker) => open(worker, dataDir, sharedBuffers, false, password))
  yield* Effect.logDebug("embedded postgres ready").pipe(Effect.annotateLogs({ dataDir, port }))
  return { host: "127.0.0.1", port, dataDir, password: Redacted.make(password) }
})

/** Closing PGlite flushes it to disk; a worker that does not answer is ended anyway. */
const stopWorker = (worker: Worker) =>
  request(worker, { type: "stop" }, "stopped").pipe(
    Effect.timeout("10 seconds"),
    Effect.ignore,
    Effect.ensuring(Effect.sync(() => worker.terminate()))
  )

/** The database worker thread, stopped (PGlite closed and flushed) when the scope closes. */
const startWorker = Effect.acquireRelease(
  Effect.sync(() => new Worker(new URL("./embedded/worker.ts", import.meta.url).href)),
  stopWorker
)

/**
 * Opens the database in `worker` (with `initOnly`: creates the data dir and closes it again);
 * the port it serves on, or 0 after an init.
 */
const open = (worker: Worker, dataDir: string, sharedBuffers: string, initOnly: boolean, password = "") =>
  request(worker, { type: "start", dataDir, sharedBuffers, initOnly, password }, initOnly ? "initialized" : "ready").pipe(
    Effect.flatMap((reply) => openedPort(reply, dataDir, initOnly))
  )

const openedPort = (reply: WorkerReply, dataDir: string, initOnly: boolean) =>
  reply.type === "failed"
    ? Effect.fail(
      new EmbeddedPostgresError({
        message: `cannot ${initOnly ? "create" : "open"} embedded database at ${dataDir}: ${reply.message}`
      })
    )
    : Effect.succeed(reply.type === "ready" ? reply.port : 0)

/** Posts one request to the worker and waits for the reply of the given type (or a failure). */
const request = (worker: Worker, message: WorkerRequest, expect: WorkerReply["type"]) =>
  Effect.async<WorkerReply, EmbeddedPostgresError>((resume) => {
    const onMessage = (event: MessageEvent<WorkerReply>) => {
      if (event.data.type !== expect && event.data.type !== "failed") return
      cleanup()
      resume(Effect.succeed(event.data))
    }
    const onError = (event: ErrorEvent) => {
      cleanup()
      resume(Effect.fail(new EmbeddedPostgresError({ message: `embedded database worker failed: ${event.message}` })))
    }
    const cleanup = () => {
      worker.removeEventListener("message", onMessage)
      worker.removeEventListener("error", onError)
    }
    worker.addEventListener("message", onMessage)
    worker.addEventListener("error", onError)
    worker.postMessage(message)
    return Effect.sync(cleanup)
  })

/** One process per data dir: a stale lock (dead pid) is taken over, a live one is an error. */
const acquireDirLock = (dir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => lockDataDir(dir),
      catch: (cause) =>
        new EmbeddedPostgresError({
          message: cause instanceof Error ? cause.message : `cannot lock data dir ${dir}`,
          cause
        })
    }),
    (lockFile) => Effect.sync(() => fs.rmSync(lockFile, { force: true }))
  )
