import { Context, Effect, Layer, Schema, type Scope, type Stream } from "effect"
import { makeTopicHub } from "./TopicHub.ts"

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

/**
 * Real-time fan-out. In-process by default; a Redis pub/sub implementation
 * (REDIS_URL) replaces it so every node sees every event.
 */
export class EventBus extends Context.Tag("Events/EventBus")<EventBus, EventBusShape>() {
  static readonly inProcess = Layer.scoped(
    EventBus,
    Effect.map(makeTopicHub<PlatformEvent>(), (hub): EventBusShape => ({
      publish: (event) => Effect.sync(() => hub.offer({ ...event, at: Date.now() })),
      subscribe: hub.subscribe,
      subscribeNow: hub.subscribeNow
    }))
  )
}
