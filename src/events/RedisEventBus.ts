import { RedisClient } from "bun"
import { Effect, Layer, PubSub, Redacted, Schema } from "effect"
import { EventBus, PlatformEvent, subscriptionsOf } from "./EventBus.ts"

/** The one Redis channel every node publishes to; subscribers filter by topic prefix locally. */
export const DEFAULT_CHANNEL = "platform:events"

const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(PlatformEvent))

/**
 * EventBus over Redis pub/sub: `publish` goes to Redis only, and every node
 * (this one included) receives it back through its subscription, so a
 * subscriber sees each event exactly once whichever node published it.
 *
 * Two connections: a Redis connection in subscriber mode cannot publish.
 * Redis pub/sub is fire-and-forget (no replay for a node that was down);
 * durable state lives in SQL, events only announce changes.
 */
export const makeRedisEventBus = (url: Redacted.Redacted<string>, channel = DEFAULT_CHANNEL) =>
  Layer.scoped(
    EventBus,
    Effect.gen(function*() {
      const hub = yield* Effect.acquireRelease(PubSub.sliding<PlatformEvent>(4096), PubSub.shutdown)
      const open = (role: string) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const client = new RedisClient(Redacted.value(url), { connectionTimeout: 5_000 })
              await client.connect()
              return client
            },
            // Never echo the URL: it may carry a password.
            catch: () => new Error(`cannot connect to Redis (${role})`)
          }),
          (client) => Effect.sync(() => client.close())
        )
      const publisher = yield* open("publisher")
      const subscriber = yield* open("subscriber")
      yield* Effect.tryPromise({
        try: () =>
          subscriber.subscribe(channel, (message) => {
            const event = decodeEvent(message)
            // Malformed messages (another producer on the channel) are dropped.
            if (event._tag === "Some") hub.unsafeOffer(event.value)
          }),
        catch: () => new Error("cannot subscribe to the Redis events channel")
      })
      yield* Effect.logInfo("event bus: Redis pub/sub").pipe(Effect.annotateLogs({ channel }))

      const publish = (event: Omit<PlatformEvent, "at">) => {
        const full: PlatformEvent = { ...event, at: Date.now() }
        return Effect.tryPromise(() => publisher.publish(channel, JSON.stringify(full))).pipe(
          Effect.asVoid,
          // Redis down: this node's subscribers still get the event.
          Effect.catchAll(() =>
            Effect.logWarning("Redis publish failed; delivering locally").pipe(
              Effect.zipRight(PubSub.publish(hub, full))
            )
          ),
          Effect.asVoid
        )
      }
      return { publish, ...subscriptionsOf(hub) }
    })
  ).pipe(Layer.orDie)
