import { Effect, Exit, Fiber, Layer, Option } from "effect"
import { AgentEntity, type TaskOutcome } from "../../entities/AgentEntity.ts"
import * as ReplyWrites from "../cluster/ReplyWrites.ts"
import * as RequestWrites from "../cluster/RequestWrites.ts"
import { AgentRunner, type FinishWith } from "./AgentRunner.ts"
import { executeKey } from "./TaskCreateWrite.ts"
import { finishWrite } from "./TaskFinishWrite.ts"

/**
 * Handlers of the Agent entity. Tasks of one agent run concurrently; each
 * running task's fiber is kept so `Cancel` (handled concurrently) can
 * interrupt it. Idle agents are passivated after `maxIdleTime`; their state
 * is all in SQL.
 *
 * A task the run created ends with its reply (`FinishWith`: one commit for the task's end and
 * the reply). Until that commits the task reads as working, so a `Cancel` arriving then is
 * answered with the end already decided instead of canceling it under the answer.
 */
export const AgentEntityLive = AgentEntity.toLayer(
  Effect.gen(function*() {
    const runner = yield* AgentRunner
    const running = new Map<string, Fiber.RuntimeFiber<TaskOutcome, unknown>>()
    const ending = new Map<string, TaskOutcome["state"]>()
    const withReply = yield* ReplyWrites.forEntity(AgentEntity)
    return AgentEntity.of({
      Execute: (request) =>
        Effect.gen(function*() {
          const { address, payload: { create, taskId } } = request
          const finishWith: FinishWith = (answer, row, after) =>
            Effect.suspend(() => {
              ending.set(taskId, answer.state)
              return withReply(request, answer, finishWrite, row, Effect.ensuring(after, Effect.sync(() => ending.delete(taskId))))
            }).pipe(Effect.orDie)
          const fiber = yield* Effect.fork(runner.run(taskId, address.entityId, create, finishWith))
          running.set(taskId, fiber)
          const exit = yield* Fiber.await(fiber).pipe(Effect.ensuring(Effect.sync(() => running.delete(taskId))))
          if (Exit.isSuccess(exit)) return exit.value
          if (Exit.isInterrupted(exit)) {
            const state = yield* runner.cancel(taskId)
            return { taskId, state: Option.getOrElse(state, () => "canceled" as const) }
          }
          yield* runner.fail(taskId, exit.cause)
          return { taskId, state: "failed" as const }
        }),
      Cancel: ({ address, payload: { taskId } }) =>
        Effect.gen(function*() {
          const ended = ending.get(taskId)
          if (ended !== undefined) return { taskId, state: ended }
          const fiber = running.get(taskId)
          // Its Execute stored (and the task created with it) but not started here yet: that
          // run must read the task as this cancel leaves it, not what the store read back.
          if (fiber === undefined) RequestWrites.forget(executeKey(address.entityId, taskId))
          if (fiber) {
            // It may have ended just before the interrupt reached it, its end then waiting for
            // its reply (the task still reads as working): that end is the answer.
            const exit = yield* Fiber.interrupt(fiber)
            if (Exit.isSuccess(exit)) return { taskId, state: exit.value.state }
          }
          const state = yield* runner.cancel(taskId)
          return { taskId, state: Option.getOrElse(state, () => "failed" as const) }
        })
    })
  }),
  { maxIdleTime: "5 minutes", concurrency: "unbounded" }
).pipe(Layer.provide(AgentRunner.Default))
