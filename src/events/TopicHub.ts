import { Effect, Queue, type Scope, Stream } from "effect"

/** Events a subscriber may fall behind by; past this it loses the oldest (a slow reader never blocks publishers). */
const SUBSCRIBER_BUFFER = 4096

/** What the hub routes: anything with a hierarchical topic (the bus's PlatformEvent). */
interface Topical {
  readonly topic: string
}

interface Subscriber<E> {
  readonly prefix: string
  readonly queue: Queue.Queue<E>
}

/**
 * This node's fan-out of events to its subscribers, routed by topic prefix when an event is
 * offered: a subscriber's queue only ever holds its own topics. (A hub that handed every
 * event to every subscriber to filter made each published event cost every subscriber a
 * wake-up: an A2A SendMessage publishes ~23 events — one per streamed word — and the
 * auth-invalidation listener alone read all of them, ~300 Effect steps per request; with 16
 * SSE streams open each event was read 16 times.) An event no one here listens to costs a
 * prefix check per subscriber.
 */
export interface TopicHub<E extends Topical> {
  /** Hands the event to every subscriber of a prefix of its topic; never waits. */
  readonly offer: (event: E) => void
  /** Events whose topic starts with `prefix`, from the first pull on. */
  readonly subscribe: (prefix: string) => Stream.Stream<E>
  /** The same, subscribed now in the caller's scope: nothing offered after it returns is missed. */
  readonly subscribeNow: (prefix: string) => Effect.Effect<Stream.Stream<E>, never, Scope.Scope>
}

/** A hub for the enclosing scope; closing it ends every subscriber's stream. */
export const makeTopicHub = <E extends Topical>(): Effect.Effect<TopicHub<E>, never, Scope.Scope> => Effect.gen(function*() {
  const subscribers = new Set<Subscriber<E>>()
  let closed = false
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closed = true
      const all = [...subscribers]
      subscribers.clear()
      return Effect.forEach(all, (s) => Queue.shutdown(s.queue), { discard: true })
    })
  )

  const subscribeNow = (prefix: string) =>
    Effect.map(
      Effect.acquireRelease(
        Effect.map(Queue.sliding<E>(SUBSCRIBER_BUFFER), (queue): Subscriber<E> => {
          const subscriber = { prefix, queue }
          // A hub already closed leaves the queue out and answers an empty stream (below).
          if (!closed) subscribers.add(subscriber)
          return subscriber
        }),
        (subscriber) => Effect.zipRight(Effect.sync(() => subscribers.delete(subscriber)), Queue.shutdown(subscriber.queue))
      ),
      (subscriber) => (closed ? Stream.empty : Stream.fromQueue(subscriber.queue))
    )

  return {
    offer: (event) => {
      for (const s of subscribers) {
        // A full queue: `offer` applies its sliding strategy (the oldest event goes), which the
        // synchronous fast path does not.
        if (event.topic.startsWith(s.prefix) && !Queue.unsafeOffer(s.queue, event)) Effect.runSync(Queue.offer(s.queue, event))
      }
    },
    subscribe: (prefix) => Stream.unwrapScoped(subscribeNow(prefix)),
    subscribeNow
  }
})
