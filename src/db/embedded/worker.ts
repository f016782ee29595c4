/**
 * Worker thread hosting the embedded database: PGlite (+ pgvector) served
 * over the Postgres wire protocol on a loopback port. PGlite runs
 * WebAssembly synchronously; on its own thread its query work no longer
 * stalls the platform's event loop (HTTP, entities) and can use a second core.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { type SessionServer, serveSession } from "./SessionServer.ts"
import type { WorkerReply, WorkerRequest } from "./WorkerProtocol.ts"

declare const self: Worker

let db: PGlite | undefined
let server: SessionServer | undefined

const reply = (message: WorkerReply) => self.postMessage(message)

const open = (dataDir: string, sharedBuffers: string) =>
  PGlite.create(dataDir, {
    extensions: { vector },
    // PGlite's default shared_buffers (128MB) doubles the process RSS; a dev database does not need it.
    postgresqlconf: [`shared_buffers = ${sharedBuffers}`]
  })

const start = async (request: Extract<WorkerRequest, { type: "start" }>): Promise<WorkerReply> => {
  db = await open(request.dataDir, request.sharedBuffers)
  if (request.initOnly) {
    await db.close()
    db = undefined
    return { type: "initialized" }
  }
  server = await serveSession(db, { password: request.password })
  return { type: "ready", port: server.port }
}

const stop = async () => {
  await server?.close()
  // Closing flushes PGlite's state to the data dir.
  await db?.close()
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  if (event.data.type === "start") {
    start(event.data).then(
      reply,
      (cause: unknown) => reply({ type: "failed", message: cause instanceof Error ? cause.message : String(cause) })
    )
  } else {
    stop().finally(() => reply({ type: "stopped" }))
  }
}
