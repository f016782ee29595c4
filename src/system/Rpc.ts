import { Effect, Option, Schedule, Stream } from "effect"
import { DurableJob } from "../../entities/DurableJob.ts"
import { SystemRpcs } from "../../rpc/SystemRpcs.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { JobRepo } from "./JobRepo.ts"

export const SystemRpcsLive = SystemRpcs.toLayer(
  Effect.gen(function*() {
    const jobs = yield* DurableJob.client
    const repo = yield* JobRepo
    return SystemRpcs.of({
      Ping: () => Effect.sync(() => ({ pong: true, serverTime: Date.now() })),
      SubmitJob: (payload) =>
        jobs(payload.jobId).Run(payload, { discard: true }).pipe(
          Effect.orDie,
          Effect.as({ jobId: payload.jobId, accepted: true })
        ),
      GetJob: ({ jobId }) =>
        repo.find(jobId).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new NotFound({ message: `job ${jobId} not found` })),
            onSome: Effect.succeed
          }))
        ),
      Ticks: ({ count, intervalMs }) =>
        Stream.iterate(1, (n) => n + 1).pipe(
          Stream.take(count),
          Stream.schedule(Schedule.spaced(intervalMs))
        )
    })
  })
)
