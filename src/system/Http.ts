import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { DurableJob } from "../../entities/DurableJob.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { JobRepo } from "./JobRepo.ts"

export const SystemHttpLive = HttpApiBuilder.group(PlatformApi, "system", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* DurableJob.client
    const repo = yield* JobRepo
    return handlers
      .handle("submitJob", ({ payload }) =>
        // discard: the message is persisted before we answer; the entity runs it later.
        jobs(payload.jobId).Run(payload, { discard: true }).pipe(
          Effect.orDie,
          Effect.as({ jobId: payload.jobId, accepted: true })
        ))
      .handle("getJob", ({ path }) =>
        repo.find(path.jobId).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new NotFound({ message: `job ${path.jobId} not found` })),
            onSome: Effect.succeed
          }))
        ))
  })).pipe(Layer.provide(JobRepo.Default))
