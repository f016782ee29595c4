import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { JobRecord, JobRun } from "../src/domain/Job.ts"

/**
 * A minimal persisted entity: `Run` does `durationMs` of work and records its
 * completion. It proves the runtime's durability contract end to end: a
 * `Run` that was accepted survives a crash of the process and completes after
 * restart (the in-flight one re-runs from the start, so handlers must be
 * idempotent — this one is, keyed by jobId). One entity per (project, jobId): `jobEntityId`.
 */

export const DurableJob = Entity.make("DurableJob", [
  Rpc.make("Run", {
    payload: JobRun.fields,
    success: JobRecord,
    // Same jobId twice = the same message: the cluster deduplicates it.
    primaryKey: (p) => p.jobId
  }).annotate(ClusterSchema.Persisted, true)
])
