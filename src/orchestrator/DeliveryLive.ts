import { Cause, Config, Duration, Effect, Layer, Option, Schedule } from "effect"
import { Delivery } from "../../entities/Delivery.ts"
import { EventBus } from "../events/EventBus.ts"
import { CircuitOpen } from "../net/CircuitBreaker.ts"
import { A2AFlowRecorder } from "../observability/A2AFlows.ts"
import { A2AClient, A2ASendError } from "./A2AClient.ts"
import * as ReplyWrites from "../cluster/ReplyWrites.ts"
import { DeliveryRecord, type RegistryEntry } from "../domain/Orchestration.ts"
import { deliveredWrite } from "./DeliveredWrite.ts"
import { DeliveryCircuits } from "./DeliveryCircuits.ts"
import { DeliveryRepo, type StoredRequest } from "./DeliveryRepo.ts"
import { LocalAgents } from "./LocalAgents.ts"
import { Registry } from "./Registry.ts"
import { TargetHandoff } from "./TargetHandoff.ts"

export const DeliveryConfig = Config.all({
  backoffBase: Config.duration("ORCHESTRATOR_BACKOFF_BASE").pipe(Config.withDefault("200 millis")),
  backoffCap: Config.duration("ORCHESTRATOR_BACKOFF_CAP").pipe(Config.withDefault("10 seconds")),
  attemptTimeout: Config.duration("ORCHESTRATOR_ATTEMPT_TIMEOUT").pipe(Config.withDefault("30 seconds"))
})

const originOf = (url: string) => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** A target already looked up for a (project, agent): the handler's, before the record was read. */
interface Known {
  readonly projectId: string
  readonly to: string
  readonly target: Option.Option<RegistryEntry>
}

/** What the `Deliver` handler is given: the persisted message, its payload and where it came from. */
type DeliverEnvelope = Parameters<Parameters<typeof Delivery.of>[0]["Deliver"]>[0]

/** The pauses before a delivery that died runs again: @effect/cluster's for an entity's restart. */
const DEFECT_RETRY = Schedule.exponential("500 millis", 1.5).pipe(Schedule.union(Schedule.spaced("10 seconds")))

/** Another attempt is due (the schedule decides when); anything else ends the delivery. */
class RetryLater {
  readonly _tag = "RetryLater"
}

/**
 * The Delivery entity's handlers: send one stored message to its target with
 * bounded retries. At-least-once: the persisted `Deliver` re-runs after a crash
 * and the receiver sees the same messageId (the delivery id) again; the
 * record's `pending → delivered` transition happens once, so a finished
 * delivery is answered from the record and never re-sent. They hold no state
 * of one delivery, so they are built once for the process, not at each
 * entity's activation.
 */
const makeHandlers = Effect.gen(function*() {
  const repo = yield* DeliveryRepo
  const registry = yield* Registry
  const handoff = yield* TargetHandoff
  const a2a = yield* A2AClient
  const local = yield* LocalAgents
  const bus = yield* EventBus
  const flows = yield* Effect.serviceOption(A2AFlowRecorder)
  const config = yield* DeliveryConfig.pipe(Effect.orDie)
  const { breaker, failureThreshold } = yield* DeliveryCircuits
  const withReply = yield* ReplyWrites.forEntity(Delivery)

  const publish = (record: DeliveryRecord, type: string, extra: Record<string, unknown> = {}) =>
    bus.publish({
      topic: `orchestrator/deliveries/${record.deliveryId}`,
      type,
      projectId: record.projectId,
      data: { deliveryId: record.deliveryId, to: record.to, from: record.from, ...extra }
    })

  const sendTo = (target: RegistryEntry, record: DeliveryRecord, request: StoredRequest) => {
    const message = {
      messageId: record.deliveryId,
      text: request.text,
      contextId: request.contextId,
      metadata: request.metadata
    }
    if (target.kind === "local") return local.send(target.projectId, target.id, message, config.attemptTimeout)
    if (target.endpointUrl === null) {
      return Effect.fail(new A2ASendError({ message: "remote agent has no endpoint", retryable: false }))
    }
    // Per project and endpoint origin: one tenant's failing target never opens another's circuit.
    const key = `${target.projectId} ${originOf(target.endpointUrl)}`
    return breaker.guard(
      key,
      a2a.send(
        target.endpointUrl,
        target.protocolVersion === "0.3" ? "0.3" : "1.0",
        message,
        config.attemptTimeout,
        target.projectId
      ),
      // Transport trouble counts; an agent that answers with a JSON-RPC error is up.
      (e) => e.retryable
    ).pipe(
      Effect.catchIf((e): e is CircuitOpen => e instanceof CircuitOpen, (open) =>
        Effect.fail(
          new A2ASendError({
            message: `circuit open: the agent's endpoint failed ${failureThreshold} times in a row; next try in ${
              Math.ceil(open.retryInMs / 1000)
            } s`,
            retryable: true
          })
        ))
    )
  }

  const recordFlow = (record: DeliveryRecord, target: RegistryEntry, started: number, error?: string) =>
    Option.match(flows, {
      onNone: () => Effect.void,
      onSome: (recorder) =>
        Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
          recorder.record({
            from: record.from ?? "orchestrator",
            to: target.id,
            method: target.kind === "local" ? "local/execute" : target.protocolVersion === "0.3" ? "message/send" : "SendMessage",
            durationMs: performance.now() - started,
            status: error === undefined ? "ok" : "error",
            projectId: record.projectId,
            traceId: Option.getOrNull(Option.map(span, (s) => s.traceId)),
            ...(error === undefined ? {} : { error })
          }))
    })

  const deadLetter = (record: DeliveryRecord, reason: string) =>
    repo.markDeadLettered(record.deliveryId, reason).pipe(
      Effect.zipRight(publish(record, "delivery.dead_lettered", { reason })),
      Effect.zipRight(Effect.logWarning("delivery dead-lettered").pipe(
        Effect.annotateLogs({ deliveryId: record.deliveryId, to: record.to, reason })
      ))
    )

  /**
   * How the first attempt of a run is counted: `opened` when `repo.begin` counted it, `fresh`
   * when it is a just-created delivery's first, counted with its outcome — and, when delivered,
   * written with the `Deliver` reply it answers (`request`, see DeliveredWrite.ts); otherwise
   * each attempt counts itself before it starts.
   */
  type FirstCount =
    | { readonly _tag: "opened"; readonly n: number }
    | { readonly _tag: "fresh"; readonly request: Parameters<typeof withReply>[0] }

  /** One attempt; fails with RetryLater only when another attempt is allowed and useful. */
  const attempt = (record: DeliveryRecord, request: StoredRequest, target: RegistryEntry, first?: FirstCount) =>
    Effect.gen(function*() {
      const countWithOutcome = first?._tag === "fresh"
      const n = first === undefined ? yield* repo.startAttempt(record.deliveryId) : first._tag === "opened" ? first.n : 1
      const started = performance.now()
      const result = yield* Effect.either(sendTo(target, record, request))
      if (result._tag === "Right") {
        yield* recordFlow(record, target, started)
        if (first?._tag === "fresh") {
          // Still pending and uncounted (created moments ago here): the record it becomes is known.
          const ended = new DeliveryRecord({ ...record, status: "delivered", reply: result.right, lastError: null, attempts: record.attempts + 1 })
          const row = { id: record.deliveryId, reply: result.right, count_attempt: true }
          return Option.some(yield* Effect.orDie(withReply(first.request, ended, deliveredWrite, row, publish(record, "delivery.delivered", { attempts: n }))))
        }
        const delivered = yield* repo.markDelivered(record.deliveryId, result.right, countWithOutcome)
        yield* publish(record, "delivery.delivered", { attempts: n })
        return delivered
      }
      const error = result.left.message
      yield* recordFlow(record, target, started, error)
      yield* repo.recordError(record.deliveryId, error, countWithOutcome)
      if (!result.left.retryable) return yield* Effect.as(deadLetter(record, `rejected by agent: ${error}`), Option.none())
      if (n >= record.maxAttempts) {
        return yield* Effect.as(deadLetter(record, `gave up after ${n} attempts: ${error}`), Option.none())
      }
      yield* publish(record, "delivery.retrying", { attempt: n, error })
      return yield* Effect.fail(new RetryLater())
    })

  const backoff = Schedule.exponential(config.backoffBase).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, d) => Duration.min(d, config.backoffCap))
  )

  const finished = (id: string) =>
    repo.get(id).pipe(Effect.flatMap(Option.match({
      onNone: () => Effect.dieMessage(`delivery ${id} vanished`),
      onSome: (s) => Effect.succeed(s.record)
    })))

  /**
   * Attempts until delivered, dead-lettered or out of retries; answers the record as it ended.
   * The first attempt is counted as `first` says, later ones count themselves.
   */
  const run = (record: DeliveryRecord, request: StoredRequest, target: RegistryEntry, first?: FirstCount) => {
    let pending = first
    return Effect.suspend(() => {
      const count = pending
      pending = undefined
      return attempt(record, request, target, count)
    }).pipe(
      Effect.retry({ schedule: backoff, while: (e) => e._tag === "RetryLater" }),
      Effect.catchTag("RetryLater", () => Effect.succeed(Option.none<DeliveryRecord>())),
      // The delivered record came back from its own update; any other end is read back.
      Effect.flatMap(Option.match({ onNone: () => finished(record.deliveryId), onSome: Effect.succeed }))
    )
  }

  /** The record's target: the one already looked up when it is for the same project and agent, else read now. */
  const targetOf = (record: DeliveryRecord, known?: Known) =>
    known !== undefined && known.projectId === record.projectId && known.to === record.to
      ? Effect.succeed(known.target)
      : registry.find(record.projectId, record.to)

  const notRegistered = (record: DeliveryRecord) =>
    Effect.zipRight(deadLetter(record, `target agent ${record.to} is not registered`), finished(record.deliveryId))

  /** A delivery the stored record decides (a message without its target, a target not found, not pending). */
  const fromRecord = (deliveryId: string, known?: Known) =>
    Effect.gen(function*() {
      const stored = yield* repo.get(deliveryId)
      if (Option.isNone(stored)) return yield* Effect.dieMessage(`unknown delivery ${deliveryId}`)
      const { record, request } = stored.value
      // Redelivered after it finished (duplicate, or crash after the write): answer, do not resend.
      if (record.status !== "pending") return record
      const target = yield* targetOf(record, known)
      if (Option.isNone(target)) return yield* notRegistered(record)
      // No attempts check here: an attempt interrupted by a crash may not have reached the
      // agent, so a resumed delivery always gets at least one more try (at-least-once).
      return yield* run(record, request, target.value)
    })

  const deliver = Effect.fn("Delivery.Deliver")(function*(envelope: DeliverEnvelope) {
    const { deliveryId, projectId, to } = envelope.payload
    if (projectId === undefined || to === undefined) return yield* fromRecord(deliveryId)
    // The message names its target: look it up first (or take the router's lookup of a
    // moment ago), then run the delivery the router just created, or open the pending
    // delivery and count its attempt in one statement.
    const handed = yield* handoff.take(deliveryId)
    const matches = handed !== undefined && handed.target.projectId === projectId && handed.target.id === to
    const target = matches ? Option.some(handed.target) : yield* registry.find(projectId, to)
    const known: Known = { projectId, to, target }
    if (Option.isNone(target)) return yield* fromRecord(deliveryId, known)
    // Created by the request that sent this message, moments ago in this process (for this
    // target: the router sends its record's): still pending, no attempt made; its first
    // attempt is counted with its outcome (see `repo.markDelivered`).
    if (matches && handed.created !== undefined) {
      return yield* run(handed.created.record, handed.created.request, target.value, { _tag: "fresh", request: envelope })
    }
    const opened = yield* repo.begin(deliveryId)
    // Not pending (finished, or redelivered after it finished): answered from the record.
    if (Option.isNone(opened)) return yield* fromRecord(deliveryId, known)
    const { record, request } = opened.value
    // The record is the truth: a message naming another target (never sent so) goes to the record's.
    const own = yield* targetOf(record, known)
    if (Option.isNone(own)) return yield* notRegistered(record)
    return yield* run(record, request, own.value, { _tag: "opened", n: record.attempts })
  })

  return Delivery.of({
    // A defect (a lost database connection, a bug) runs this delivery again after a pause, as the
    // entity's restart did when each delivery had an entity of its own; left to the entity, it
    // would restart the entity and so interrupt and re-run every delivery it is running.
    Deliver: (envelope) =>
      deliver(envelope).pipe(
        Effect.sandbox,
        Effect.tapError((cause) => Effect.logError("Delivery failed with a defect; running it again", cause)),
        Effect.retry({ while: (cause) => !Cause.isInterruptedOnly(cause), schedule: DEFECT_RETRY }),
        Effect.unsandbox
      )
  })
})

export const DeliveryLive = Layer.unwrapEffect(Effect.map(makeHandlers, (handlers) =>
  Delivery.toLayer(
    Effect.succeed(handlers),
    // Deliveries share entities (`deliveryEntityId`) and are independent: they run side by side.
    { maxIdleTime: "30 seconds", concurrency: "unbounded" }
  ))).pipe(Layer.provide([
  DeliveryRepo.Default,
  Registry.Default,
  A2AClient.Default,
  LocalAgents.Default,
  DeliveryCircuits.Default,
  TargetHandoff.Default
]))
