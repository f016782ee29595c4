/** Messages between the platform and the embedded-database worker (worker.ts). */
export type WorkerRequest =
  /** Opens the database; with `initOnly` it only creates (initdb) the data dir and closes it again. */
  /** `password`: what a client must send to reach the database (only the platform's pool knows it). */
  | {
    readonly type: "start"
    readonly dataDir: string
    readonly sharedBuffers: string
    readonly initOnly: boolean
    readonly password: string
  }
  | { readonly type: "stop" }

export type WorkerReply =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "initialized" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" }
