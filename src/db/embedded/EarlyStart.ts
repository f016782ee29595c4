/**
 * Opens the embedded database before the platform's modules load.
 *
 * `bun run dev` spends about as much CPU importing the platform (~1,800
 * modules) as PGlite spends opening its data dir (WebAssembly compile,
 * catalog reads). main.ts calls `startEarly` first, so the database worker
 * opens on the second core while the main thread imports; the
 * EmbeddedPostgres layer then adopts the worker (`takeEarly`) instead of
 * starting one. Plain Node APIs only: nothing heavy may load before it.
 *
 * The settings are read from the environment with AppConfig's names and
 * defaults; a value AppConfig would read differently only costs the head
 * start: `takeEarly` stops a worker opened for another dir or other settings.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { templateRootFrom } from "../../config/EmbeddedTemplateRoot.ts"
import { isInitialized, lockDataDir, restoreTemplate } from "./DataDir.ts"
import type { WorkerReply, WorkerRequest } from "./WorkerProtocol.ts"

export interface EarlyDatabase {
  readonly worker: Worker
  /** The worker's answer to its start request: "ready" with the port, or "failed". */
  readonly opened: Promise<WorkerReply>
  readonly password: string
}

let early: { readonly key: string; readonly lockFile: string; readonly db: EarlyDatabase } | undefined

const keyOf = (pgDir: string, sharedBuffers: string) => `${pgDir}\0${sharedBuffers}`

/** Starts the embedded database for these settings when they select it; never throws. */
export const startEarly = (env: Record<string, string | undefined> = process.env): void => {
  if (env.DATABASE_URL) return
  const sharedBuffers = env.EMBEDDED_PG_SHARED_BUFFERS ?? "16MB"
  // A bad value is AppConfig's to report.
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) return
  const root = path.resolve(env.DATA_DIR ?? "./.data")
  const pgDir = path.resolve(root, "pg")
  let lockFile: string
  try {
    lockFile = lockDataDir(root)
  } catch {
    return // in use by another process: the layer reports it
  }
  // A fresh dir without a template needs initdb first: left to the layer.
  if (!isInitialized(pgDir) && !restoreTemplate(templateRootFrom(env.EMBEDDED_PG_TEMPLATE_DIR), pgDir)) {
    fs.rmSync(lockFile, { force: true })
    return
  }
  // Not keeping the process alive on its own: the layer refs it when it adopts it.
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { ref: false })
  const password = randomBytes(32).toString("base64url")
  const opened = new Promise<WorkerReply>((resolve) => {
    const onMessage = (event: MessageEvent<WorkerReply>) => {
      if (event.data.type !== "ready" && event.data.type !== "failed") return
      worker.removeEventListener("message", onMessage)
      resolve(event.data)
    }
    worker.addEventListener("message", onMessage)
    worker.addEventListener("error", (event) => resolve({ type: "failed", message: `embedded database worker failed: ${event.message}` }))
  })
  const request: WorkerRequest = { type: "start", dataDir: pgDir, sharedBuffers, initOnly: false, password }
  worker.postMessage(request)
  early = { key: keyOf(pgDir, sharedBuffers), lockFile, db: { worker, opened, password } }
}

/**
 * The database `startEarly` opened for exactly this data dir and these
 * settings, handed over once; any other is stopped (and its lock released)
 * before this returns, so the caller may open the dir itself.
 */
export const takeEarly = async (pgDir: string, sharedBuffers: string): Promise<EarlyDatabase | undefined> => {
  const taken = early
  early = undefined
  if (taken === undefined) return undefined
  if (taken.key === keyOf(path.resolve(pgDir), sharedBuffers)) return taken.db
  await stopEarly(taken.db)
  fs.rmSync(taken.lockFile, { force: true })
  return undefined
}

const stopEarly = async ({ opened, worker }: EarlyDatabase) => {
  await opened
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000)
    worker.addEventListener("message", (event: MessageEvent<WorkerReply>) => {
      if (event.data.type === "stopped") {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  worker.postMessage({ type: "stop" } satisfies WorkerRequest)
  await stopped
  worker.terminate()
}
