import { describe, expect, test } from "bun:test"
import { Chunk, Context, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import { EventBus } from "../../src/events/EventBus.ts"
import { makeRedisEventBus } from "../../src/events/RedisEventBus.ts"

const REDIS_URL = Redacted.make(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379")

/** Collects `n` events for `prefix` from one bus while `publish` runs on (possibly) another. */
const collect = (prefix: string, n: number) =>
  Effect.flatMap(EventBus, (bus) =>
    bus.subscribe(prefix).pipe(Stream.take(n), Stream.runCollect, Effect.map(Chunk.toArray), Effect.fork))

describe("EventBus", () => {
  test("in-process: subscribers get events of their prefix only", async () => {
    const events = await Effect.gen(function*() {
      const fiber = yield* collect("agents/", 2)
      yield* Effect.sleep("50 millis")
      const bus = yield* EventBus
      yield* bus.publish({ topic: "agents/a1", type: "status", projectId: "p1", data: { status: "ready" } })
      yield* bus.publish({ topic: "workflows/w1", type: "step", projectId: "p1", data: null })
      yield* bus.publish({ topic: "agents/a2", type: "status", projectId: "p1", data: { status: "busy" } })
      return yield* Fiber.join(fiber)
    }).pipe(Effect.provide(EventBus.inProcess), Effect.scoped, Effect.runPromise)
    expect(events.map((e) => e.topic)).toEqual(["agents/a1", "agents/a2"])
    expect(events[0].at).toBeGreaterThan(0)
  })

  test("in-process: a subscriber that falls behind loses the oldest events, not the newest", async () => {
    const topics = await Effect.gen(function*() {
      const bus = yield* EventBus
      const events = yield* bus.subscribeNow("runs/")
      // 10 more than a subscriber's buffer (4096), none read meanwhile.
      for (let i = 0; i < 4106; i++) yield* bus.publish({ topic: `runs/${i}`, type: "step", projectId: null, data: null })
      return yield* events.pipe(Stream.take(4096), Stream.runCollect, Effect.map(Chunk.toArray), Effect.map((es) => es.map((e) => e.topic)))
    }).pipe(Effect.provide(EventBus.inProcess), Effect.scoped, Effect.runPromise)
    expect(topics[0]).toBe("runs/10")
    expect(topics.at(-1)).toBe("runs/4105")
  })

  test("in-process: a subscription whose scope closed gets nothing more and its stream ends", async () => {
    const result = await Effect.gen(function*() {
      const bus = yield* Layer.build(EventBus.inProcess).pipe(Effect.map((c) => Context.get(c, EventBus)))
      // A subscription whose scope closed is gone: publishing afterwards reaches it no more.
      const closed = yield* Effect.scoped(bus.subscribeNow("a/"))
      yield* bus.publish({ topic: "a/1", type: "t", projectId: null, data: null })
      const afterClose = yield* closed.pipe(Stream.runCollect, Effect.map(Chunk.size), Effect.timeout("1 second"))
      return { afterClose }
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(result.afterClose).toBe(0)
  })

  test("Redis: an event published on one node reaches subscribers on every node exactly once", async () => {
    // A channel of our own so parallel suites on the same Redis do not interfere.
    const channel = `test:events:${crypto.randomUUID()}`
    const result = await Effect.gen(function*() {
      // Two nodes = two independently built buses (own connections) on the same channel.
      const nodeA = yield* Layer.build(makeRedisEventBus(REDIS_URL, channel))
      const nodeB = yield* Layer.build(makeRedisEventBus(REDIS_URL, channel))
      const onA = yield* collect("orchestrator/", 2).pipe(Effect.provide(nodeA))
      const onB = yield* collect("orchestrator/", 2).pipe(Effect.provide(nodeB))
      const busB = Context.get(nodeB, EventBus)
      yield* Effect.sleep("200 millis")
      yield* busB.publish({ topic: "orchestrator/agents/x", type: "agent.registered", projectId: "p", data: { n: 1 } })
      yield* busB.publish({ topic: "other/y", type: "ignored", projectId: null, data: null })
      yield* busB.publish({ topic: "orchestrator/deliveries/d", type: "delivery.delivered", projectId: "p", data: { n: 2 } })
      const a = yield* Fiber.join(onA).pipe(Effect.timeout("5 seconds"))
      const b = yield* Fiber.join(onB).pipe(Effect.timeout("5 seconds"))
      // Nothing beyond the two: no duplicate from a local short-cut.
      const late = yield* collect("orchestrator/", 1).pipe(Effect.provide(nodeA))
      yield* busB.publish({ topic: "orchestrator/agents/z", type: "agent.status", projectId: "p", data: { n: 3 } })
      const next = yield* Fiber.join(late).pipe(Effect.timeout("5 seconds"))
      return { a, b, next }
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(result.a.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }])
    expect(result.b.map((e) => e.type)).toEqual(["agent.registered", "delivery.delivered"])
    // The next event seen on A is the next one published, not a duplicate of an earlier one.
    expect(result.next.map((e) => e.data)).toEqual([{ n: 3 }])
  }, 20_000)
})
