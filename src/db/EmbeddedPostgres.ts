import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Context, Data, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * An embedded Postgres (PGlite + pgvector) served over the Postgres wire
 * protocol on loopback, so the rest of the platform talks to it through the
 * same `@effect/sql-pg` client it uses for a real server.
 *
 * PGlite is ONE session shared by every socket connection: safe for this
 * process only. A lock file in the data dir stops a second process from
 * opening the same directory (which would corrupt it).
 */
export class EmbeddedPostgres extends Context.Tag("Platform/EmbeddedPostgres")<
  EmbeddedPostgres,
  { readonly host: string; readonly port: number; readonly dataDir: string }
>() {
  static readonly layer = (options: { readonly dataDir: string; readonly maxConnections: number }) =>
    Layer.scoped(EmbeddedPostgres, make(options))
}

const make = Effect.fn("EmbeddedPostgres.start")(function*(options: {
  readonly dataDir: string
  readonly maxConnections: number
}) {
  const dataDir = path.resolve(options.dataDir, "pg")
  yield* acquireDirLock(path.resolve(options.dataDir))
  const db = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        PGlite.create(dataDir, {
          extensions: { vector },
          // PGlite's default shared_buffers (128MB) doubles the process RSS; a dev database does not need it.
          postgresqlconf: ["shared_buffers = 32MB"]
        }),
      catch: (cause) => new EmbeddedPostgresError({ message: `cannot open embedded database at ${dataDir}`, cause })
    }),
    (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
  )
  const port = yield* freeLoopbackPort
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: options.maxConnections + 2 })
  yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => server.start(),
      catch: (cause) => new EmbeddedPostgresError({ message: "cannot start the embedded database socket", cause })
    }),
    () => Effect.promise(() => server.stop()).pipe(Effect.ignore)
  )
  yield* Effect.logDebug("embedded postgres ready").pipe(Effect.annotateLogs({ dataDir, port }))
  return { host: "127.0.0.1", port, dataDir }
})

const freeLoopbackPort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const srv = net.createServer()
  srv.once("error", (cause) => resume(Effect.fail(new EmbeddedPostgresError({ message: "no free port", cause }))))
  srv.listen(0, "127.0.0.1", () => {
    const address = srv.address()
    const port = typeof address === "object" && address ? address.port : 0
    srv.close(() => resume(Effect.succeed(port)))
  })
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
