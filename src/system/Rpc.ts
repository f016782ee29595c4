import { Effect, Option, Schedule, Stream } from "effect"
import { DurableJob } from "../../entities/DurableJob.ts"
import { SystemRpcs } from "../../rpc/SystemRpcs.ts"
import { Authenticator, credentialsFromHeaders } from "../auth/Authenticator.ts"
import { jobEntityId } from "../domain/Job.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { JobRepo } from "./JobRepo.ts"
import { readScopes, submitScope } from "./JobScope.ts"

/**
 * RPC handlers run outside the HTTP request's fiber, so the caller is authenticated again from
 * the request headers the server passes along (the route's middleware already refused requests
 * without valid credentials and put a query-string token into `authorization`).
 */
export const SystemRpcsLive = SystemRpcs.toLayer(
  Effect.gen(function*() {
    const jobs = yield* DurableJob.client
    const repo = yield* JobRepo
    const authenticator = yield* Authenticator
    const caller = (headers: Readonly<Record<string, string>>) => authenticator.authenticate(credentialsFromHeaders(headers))
    return SystemRpcs.of({
      Ping: () => Effect.sync(() => ({ pong: true, serverTime: Date.now() })),
      SubmitJob: (payload, { headers }) =>
        Effect.gen(function*() {
          const user = yield* caller(headers)
          const scope = yield* submitScope(user, payload.projectId)
          const run = { jobId: payload.jobId, durationMs: payload.durationMs, projectId: scope, createdBy: user.userId }
          yield* jobs(jobEntityId(scope, payload.jobId)).Run(run, { discard: true }).pipe(Effect.orDie)
          return { jobId: payload.jobId, accepted: true }
        }),
      GetJob: ({ jobId, projectId }, { headers }) =>
        Effect.gen(function*() {
          const user = yield* Effect.orElseFail(caller(headers), () => new NotFound({ message: "job not found" }))
          const found = yield* repo.find(readScopes(user, projectId), jobId)
          return yield* Option.match(found, {
            onNone: () => Effect.fail(new NotFound({ message: "job not found" })),
            onSome: Effect.succeed
          })
        }),
      Ticks: ({ count, intervalMs }) =>
        Stream.iterate(1, (n) => n + 1).pipe(
          Stream.take(count),
          Stream.schedule(Schedule.spaced(intervalMs))
        )
    })
  })
)
