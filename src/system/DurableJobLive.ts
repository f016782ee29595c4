import { Effect, Layer } from "effect"
import { DurableJob } from "../../entities/DurableJob.ts"
import { JobRepo } from "./JobRepo.ts"

export const DurableJobLive = DurableJob.toLayer(
  Effect.gen(function*() {
    const repo = yield* JobRepo
    return DurableJob.of({
      Run: Effect.fn("DurableJob.Run")(function*({ payload }) {
        const scope = payload.projectId ?? ""
        const started = yield* repo.find([scope], payload.jobId)
        // A completed job that is delivered again (at-least-once) is answered, not redone.
        if (started._tag === "Some" && started.value.status === "completed") return started.value
        yield* repo.markStarted(scope, payload.jobId, payload.createdBy ?? null)
        yield* Effect.sleep(payload.durationMs)
        return yield* repo.markCompleted(scope, payload.jobId)
      })
    })
  }),
  { maxIdleTime: "1 minute", concurrency: 1 }
).pipe(Layer.provide(JobRepo.Default))
