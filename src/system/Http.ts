import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { DurableJob } from "../../entities/DurableJob.ts"
import { CurrentUser } from "../domain/Identity.ts"
import { jobEntityId } from "../domain/Job.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { JobRepo } from "./JobRepo.ts"
import { readScopes, submitScope } from "./JobScope.ts"

export const SystemHttpLive = HttpApiBuilder.group(PlatformApi, "system", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* DurableJob.client
    const repo = yield* JobRepo
    return handlers
      .handle("submitJob", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const scope = yield* submitScope(user, payload.projectId)
          const run = { jobId: payload.jobId, durationMs: payload.durationMs, projectId: scope, createdBy: user.userId }
          // discard: the message is persisted before we answer; the entity runs it later.
          yield* jobs(jobEntityId(scope, payload.jobId)).Run(run, { discard: true }).pipe(Effect.orDie)
          return { jobId: payload.jobId, accepted: true }
        }))
      .handle("getJob", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const found = yield* repo.find(readScopes(user, urlParams.projectId), path.jobId)
          // Another tenant's job answers exactly like a missing one.
          return yield* Option.match(found, {
            onNone: () => Effect.fail(new NotFound({ message: "job not found" })),
            onSome: Effect.succeed
          })
        }))
  })).pipe(Layer.provide(JobRepo.Default))
