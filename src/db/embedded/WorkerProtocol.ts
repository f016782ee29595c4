/** Messages between the platform and the embedded-database worker (worker.ts). */
export type WorkerRequest =
  | { readonly type: "start"; readonly dataDir: string }
  | { readonly type: "stop" }

export type WorkerReply =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" }
