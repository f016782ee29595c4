import { RedisClient } from "bun"
import { Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { openRedis } from "../net/RedisConnection.ts"
import { EventBus, PlatformEvent } from "./EventBus.ts"
import { makeTopicHub } from "./TopicHub.ts"

/** The one Redis channel every node publishes to; subscribers filter by topic prefix locally. */
export const DEFAULT_CHANNEL = "platform:events"

const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(PlatformEvent))

/**
 * EventBus over Redis pub/sub: `publish` goes to Redis, and every node
 * (this one included) receives it back through its subscription, so a
 * subscriber sees each event exactly once whichever node published it.
 *
 * Two connections: a Redis connection in subscriber mode cannot publish.
 * Redis pub/sub is fire-and-forget (no replay for a node that was down);
 * durable state lives in SQL, events only announce changes.
 *
 * Redis down: events published here are delivered to this node's subscribers
 * (in-process, as without REDIS_URL) until the subscription is back; both
 * connections come back by themselves (checked every second).
 */
export const makeRedisEventBus = (url: Redacted.Redacted<string>, channel = DEFAULT_CHANNEL) =>
  Layer.scoped(
    EventBus,
    Effect.gen(function*() {
      const hub = yield* makeTopicHub<PlatformEvent>()
      const onMessage = (message: string) => {
        const event = decodeEvent(message)
        // Malformed messages (another producer on the channel) are dropped.
        if (event._tag === "Some") hub.offer(event.value)
      }
      // A fresh subscriber connection each time the last one is lost: a Bun client that
      // reconnects by itself comes back without its subscription, and subscribing it again
      // can leave two handlers on it (each message delivered twice).
      let subscriber: RedisClient | undefined
      let subscribed = false
      const ensureSubscribed = Effect.promise(async () => {
        if (subscribed && subscriber?.connected) return
        subscribed = false
        subscriber?.close()
        const client = new RedisClient(Redacted.value(url), { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 2_000 })
        subscriber = client
        try {
          await client.connect()
          await client.subscribe(channel, onMessage)
          subscribed = client.connected
        } catch {
          client.close()
        }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => subscriber?.close()))
      yield* ensureSubscribed
      yield* ensureSubscribed.pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.forkScoped)
      const publisher = yield* openRedis(Redacted.value(url))
      yield* Effect.logInfo("event bus: Redis pub/sub").pipe(Effect.annotateLogs({ channel, subscribed }))

      const local = (event: PlatformEvent) => Effect.sync(() => hub.offer(event))
      const publish = (event: Omit<PlatformEvent, "at">) => {
        const full: PlatformEvent = { ...event, at: Date.now() }
        const toRedis = Effect.tryPromise(() => publisher.publish(channel, JSON.stringify(full)))
        // Not subscribed (Redis down or just back): this node's subscribers get it from here;
        // other nodes still get it through Redis when the publisher connection works.
        if (!(subscribed && subscriber?.connected)) {
          return Effect.zipRight(Effect.ignore(toRedis), local(full))
        }
        return toRedis.pipe(
          Effect.asVoid,
          Effect.catchAll(() => Effect.logWarning("Redis publish failed; delivering locally").pipe(Effect.zipRight(local(full))))
        )
      }
      return { publish, subscribe: hub.subscribe, subscribeNow: hub.subscribeNow }
    })
  ).pipe(Layer.orDie)
