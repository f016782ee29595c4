import { Context, Effect, Layer, PubSub, Schema, type Scope, Stream } from "effect"

/**
 * A platform event (agent status, task update, ingestion progress, workflow
 * step...). `topic` is hierarchical ("agents/<id>", "workflows/runs/<id>");
 * `projectId` lets subscribers filter to what the caller may see.
 */
export const PlatformEvent = Schema.Struct({
  topic: Schema.String,
  type: Schema.String,
  projectId: Schema.NullOr(Schema.String),
  data: Schema.Unknown,
  at: Schema.Number
})
export type PlatformEvent = typeof PlatformEvent.Type

export interface EventBusShape {
  readonly publish: (event: Omit<PlatformEvent, "at">) => Effect.Effect<void>
  /** Events whose topic starts with `prefix`, from now on. */
  readonly subscribe: (prefix: string) => Stream.Stream<PlatformEvent>
  /**
   * The same, subscribed now in the caller's scope: nothing published after
   * this returns is missed (`subscribe` only subscribes when first pulled).
   */
  readonly subscribeNow: (prefix: string) => Effect.Effect<Stream.Stream<PlatformEvent>, never, Scope.Scope>
}

/** Both buses fan out through a local hub: the shared subscribe / subscribeNow over it. */
export const subscriptionsOf = (hub: PubSub.PubSub<PlatformEvent>) => {
  const byPrefix = (prefix: string) => (events: Stream.Stream<PlatformEvent>) =>
    Stream.filter(events, (e) => e.topic.startsWith(prefix))
  return {
    subscribe: (prefix: string) => byPrefix(prefix)(Stream.fromPubSub(hub)),
    subscribeNow: (prefix: string) => Effect.map(Stream.fromPubSub(hub, { scoped: true }), byPrefix(prefix))
  }
}

/**
 * Real-time fan-out. In-process by default; a Redis pub/sub implementation
 * (REDIS_URL) replaces it so every node sees every event.
 */
export class EventBus extends Context.Tag("Events/EventBus")<EventBus, EventBusShape>() {
  static readonly inProcess = Layer.scoped(
    EventBus,
    Effect.gen(function*() {
      // Sliding: a slow subscriber loses old events rather than blocking publishers.
      const hub = yield* Effect.acquireRelease(PubSub.sliding<PlatformEvent>(4096), PubSub.shutdown)
      return {
        publish: (event) => PubSub.publish(hub, { ...event, at: Date.now() }).pipe(Effect.asVoid),
        ...subscriptionsOf(hub)
      }
    })
  )
}
