import { Context, Data, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
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
  }) =>
    Layer.scoped(EmbeddedPostgres, make(options))
}

const make = Effect.fn("EmbeddedPostgres.start")(function*(options: {
  readonly dataDir: string
  readonly maxConnections: number
  readonly sharedBuffers: string
}) {
  const dataDir = path.resolve(options.dataDir, "pg")
  const { sharedBuffers } = options
  yield* acquireDirLock(path.resolve(options.dataDir))
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    // initdb grows the WebAssembly heap to ~600 MB and it never shrinks: create the data dir in
    // a worker of its own that is then ended, and serve from a fresh one.
    yield* Effect.scoped(Effect.flatMap(startWorker, (init) => open(init, dataDir, sharedBuffers, true)))
  }
  const password = randomBytes(32).toString("base64url")
  const port = yield* Effect.flatMap(startWorker, (worker) => open(worker, dataDir, sharedBuffers, false, password))
  yield* Effect.logDebug("embedded postgres ready").pipe(Effect.annotateLogs({ dataDir, port }))
  return { host: "127.0.0.1", port, dataDir, password: Redacted.make(password) }
})

/** The database worker thread, stopped (PGlite closed and flushed) when the scope closes. */
const startWorker = Effect.acquireRelease(
  Effect.sync(() => new Worker(new URL("./embedded/worker.ts", import.meta.url).href)),
  (worker) =>
    // Closing PGlite flushes it to disk; a worker that does not answer is ended anyway.
    request(worker, { type: "stop" }, "stopped").pipe(
      Effect.timeout("10 seconds"),
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => worker.terminate()))
    )
)

/**
 * Opens the database in `worker` (with `initOnly`: creates the data dir and closes it again);
 * the port it serves on, or 0 after an init.
 */
const open = (worker: Worker, dataDir: string, sharedBuffers: string, initOnly: boolean, password = "") =>
  request(worker, { type: "start", dataDir, sharedBuffers, initOnly, password }, initOnly ? "initialized" : "ready").pipe(
    Effect.flatMap((reply) =>
      reply.type === "failed"
        ? Effect.fail(
          new EmbeddedPostgresError({
            message: `cannot ${initOnly ? "create" : "open"} embedded database at ${dataDir}: ${reply.message}`
          })
        )
        : Effect.succeed(reply.type === "ready" ? reply.port : 0)
    )
  )

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
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        const lockFile = path.join(dir, "platform.lock")
        const holder = readLockPid(lockFile)
        if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
          throw new Error(`data dir ${dir} is in use by process ${holder}`)
        }
        fs.writeFileSync(lockFile, String(process.pid))
        return lockFile
      },
      catch: (cause) =>
        new EmbeddedPostgresError({
          message: cause instanceof Error ? cause.message : `cannot lock data dir ${dir}`,
          cause
        })
    }),
    (lockFile) => Effect.sync(() => fs.rmSync(lockFile, { force: true }))
  )

const readLockPid = (file: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}
