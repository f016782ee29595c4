import { Config, Effect, Fiber, Option } from "effect"
import { createHash } from "node:crypto"
import { Delivery, deliveryEntityId } from "../../entities/Delivery.ts"
import { Conflict, NotFound } from "../kernel/WireErrors.ts"
import type { DeliveryRecord, MessageRequest } from "../domain/Orchestration.ts"
import { DeliveryRepo } from "./DeliveryRepo.ts"
import { PendingBound } from "./PendingBound.ts"
import { RegistryRepo } from "./RegistryRepo.ts"
import { TargetHandoff } from "./TargetHandoff.ts"
import * as Values from "../config/Values.ts"

export const RouterConfig = Config.all({
  maxAttempts: Values.nonNegativeInteger("ORCHESTRATOR_MAX_ATTEMPTS").pipe(Config.withDefault(5)),
  /** How long a sync message waits for its reply before answering with the pending record. */
  syncWait: Config.duration("ORCHESTRATOR_SYNC_WAIT").pipe(Config.withDefault("60 seconds"))
})

/**
 * Delivery ids are derived from (project, idempotency key): the same key always names the same
 * delivery. Hashed synchronously: WebCrypto's digest is a promise, an extra hop per message.
 */
const deliveryIdOf = (projectId: string, key: string) =>
  `dlv_${createHash("sha256").update(`${projectId}\u0000${key}`).digest("hex").slice(0, 32)}`

/**
 * Accepts messages for delivery: writes the delivery record, then hands it to
 * the Delivery entity as a persisted message. Callers must have checked the
 * caller's role in `projectId`.
 */
export class Router extends Effect.Service<Router>()("Orchestrator/Router", {
  effect: Effect.gen(function*() {
    const repo = yield* DeliveryRepo
    const registry = yield* RegistryRepo
    const deliveries = yield* Delivery.client
    const handoff = yield* TargetHandoff
    const bound = yield* PendingBound
    const config = yield* RouterConfig.pipe(Effect.orDie)

    const submit = Effect.fn("Router.submit")(function*(req: MessageRequest) {
      // Refused before anything is stored: a delivery accepted is one the project waits for.
      yield* bound.check(req.projectId)
      const key = req.idempotencyKey ?? crypto.randomUUID()
      const id = deliveryIdOf(req.projectId, key)
      const request = {
        text: req.text,
        ...(req.contextId ? { contextId: req.contextId } : {}),
        metadata: req.metadata ?? {}
      }
      // The target is looked up in the statement that stores the delivery (one round trip):
      // none, and nothing is stored.
      const created = yield* repo.createFor({
        id,
        projectId: req.projectId,
        idempotencyKey: key,
        from: req.from ?? null,
        to: req.to,
        request,
        maxAttempts: req.maxAttempts ?? config.maxAttempts
      }, registry.entryJson(req.projectId, req.to))
      const target = yield* registry.entryFromJson(created.target)
      const stored = created.stored
      if (Option.isNone(target) || stored === undefined) return yield* new NotFound({ message: `agent ${req.to} not found` })
      if (stored.created) yield* bound.started(req.projectId)
      if (!stored.created && (stored.record.to !== req.to || stored.request.text !== req.text)) {
        return yield* new Conflict({ message: "idempotency key already used for a different message" })
      }
      // The stored record's project and target (a reused key keeps the first message's).
      const message = { deliveryId: id, projectId: stored.record.projectId, to: stored.record.to }
      // The handler that runs it here moments later uses this lookup instead of repeating it,
      // and a delivery created just now as stored instead of opening it again.
      yield* handoff.offer(id, {
        target: target.value,
        created: stored.created ? { record: stored.record, request: stored.request } : undefined
      })
      if (req.mode === "async") {
        // Persisted before we answer: the entity delivers it even if this process dies now.
        yield* deliveries(deliveryEntityId(id)).Deliver(message, { discard: true }).pipe(Effect.orDie)
        return (yield* repo.get(id)).pipe(Option.map((s) => s.record), Option.getOrElse(() => stored.record))
      }
      // The call runs in its own fiber: a caller that gives up (timeout, closed connection)
      // must not interrupt the delivery itself, which would cancel it in the entity.
      const call = yield* deliveries(deliveryEntityId(id)).Deliver(message).pipe(Effect.orDie, Effect.forkDaemon)
      const replied = yield* Fiber.join(call).pipe(
        Effect.timeout(config.syncWait),
        Effect.option,
        Effect.ensuring(handoff.drop(id))
      )
      if (Option.isSome(replied)) return replied.value
      return (yield* repo.get(id)).pipe(Option.map((s) => s.record), Option.getOrElse(() => stored.record))
    })

    const get = (id: string) => Effect.map(repo.get(id), Option.map((s): DeliveryRecord => s.record))

    return { submit, get, listDeadLetters: repo.listDeadLetters } as const
  }),
  dependencies: [DeliveryRepo.Default, RegistryRepo.Default, TargetHandoff.Default, PendingBound.Default]
}) {}
