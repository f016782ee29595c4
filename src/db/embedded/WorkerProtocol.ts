/** Messages between the platform and the embedded-database worker (worker.ts). */
export type WorkerRequest =
  /** Opens the database; with `initOnly` it only creates (initdb) the data dir and closes it again. */
  | { readonly type: "start"; readonly dataDir: string; readonly sharedBuffers: string; readonly initOnly: boolean }
  | { readonly type: "stop" }

export type WorkerReply =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "initialized" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" }
