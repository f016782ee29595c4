import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { JobRecord, JobRequest } from "../src/domain/Job.ts"
import { SqlText } from "../src/kernel/SqlText.ts"
import { BadRequest, Forbidden, NotFound, Unauthorized } from "../src/kernel/WireErrors.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"

/**
 * Runtime RPCs, served both over WebSocket (`/rpc/ws`) and HTTP (`/rpc`).
 * `Ticks` streams, to prove streaming works on both transports. Authenticated (and limited) per
 * call like every other group.
 */
export class SystemRpcs extends RpcGroup.make(
  Rpc.make("Ping", {
    success: Schema.Struct({ pong: Schema.Boolean, serverTime: Schema.Number })
  }),
  Rpc.make("SubmitJob", {
    payload: JobRequest,
    success: Schema.Struct({ jobId: Schema.String, accepted: Schema.Boolean }),
    error: Schema.Union(BadRequest, Forbidden, NotFound, Unauthorized)
  }),
  /** A job of one of the caller's projects (`projectId` narrows to one); others' jobs are NotFound. */
  Rpc.make("GetJob", {
    payload: { jobId: SqlText.pipe(Schema.maxLength(128)), projectId: Schema.optional(SqlText.pipe(Schema.maxLength(128))) },
    success: JobRecord,
    error: NotFound
  }),
  Rpc.make("Ticks", {
    payload: { count: Schema.Int.pipe(Schema.between(1, 1000)), intervalMs: Schema.Int.pipe(Schema.between(0, 10_000)) },
    success: Schema.Int,
    stream: true
  })
).middleware(RpcAuthentication) {}
