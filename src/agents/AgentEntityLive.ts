import { Effect, Exit, Fiber, Layer, Option } from "effect"
import { AgentEntity } from "../../entities/AgentEntity.ts"
import { AgentRunner } from "./AgentRunner.ts"

/**
 * Handlers of the Agent entity. Tasks of one agent run concurrently; each
 * running task's fiber is kept so `Cancel` (handled concurrently) can
 * interrupt it. Idle agents are passivated after `maxIdleTime`; their state
 * is all in SQL.
 */
export const AgentEntityLive = AgentEntity.toLayer(
  Effect.gen(function*() {
    const runner = yield* AgentRunner
    const running = new Map<string, Fiber.RuntimeFiber<unknown, unknown>>()
    return AgentEntity.of({
      Execute: ({ address, payload: { create, taskId } }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(runner.run(taskId, address.entityId, create))
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
      Cancel: ({ payload: { taskId } }) =>
        Effect.gen(function*() {
          const fiber = running.get(taskId)
          if (fiber) yield* Fiber.interrupt(fiber)
          const state = yield* runner.cancel(taskId)
          return { taskId, state: Option.getOrElse(state, () => "failed" as const) }
        })
    })
  }),
  { maxIdleTime: "5 minutes", concurrency: "unbounded" }
).pipe(Layer.provide(AgentRunner.Default))
