import { afterAll, describe, expect, test } from "bun:test"
import { Effect, Layer } from "effect"
import { EgressConfig, type EgressConfigShape } from "../../src/net/EgressConfig.ts"
import { EgressPolicy } from "../../src/net/EgressPolicy.ts"
import { makeEgressSlots } from "../../src/net/EgressSlots.ts"

/** Settles within a few turns of the event loop, or not at all: "still waiting". */
const settledSoon = <A>(p: Promise<A>) =>
  Promise.race([p.then((v) => ({ settled: true as const, v })), Bun.sleep(30).then(() => ({ settled: false as const }))])

describe("EgressSlots", () => {
  test("a tenant's requests over its bound wait, first come first served, without holding back another tenant", async () => {
    const slots = makeEgressSlots({ perTenant: 2, total: 10 })
    const a1 = await slots.acquire("a")
    await slots.acquire("a")
    const a3 = slots.acquire("a")
    const a4 = slots.acquire("a")
    expect(slots.stats("a")).toEqual({ inFlight: 2, waiting: 2 })
    expect((await settledSoon(slots.acquire("b"))).settled).toBe(true)
    expect((await settledSoon(a3)).settled).toBe(false)
    a1()
    expect((await settledSoon(a3)).settled).toBe(true)
    expect((await settledSoon(a4)).settled).toBe(false)
    expect(slots.stats("a")).toEqual({ inFlight: 2, waiting: 1 })
    expect(slots.stats()).toEqual({ inFlight: 3, waiting: 0 })
  })

  test("the total bounds every request, named tenant or none", async () => {
    const slots = makeEgressSlots({ perTenant: 5, total: 2 })
    const first = await slots.acquire(undefined)
    await slots.acquire("a")
    const third = slots.acquire("b")
    expect((await settledSoon(third)).settled).toBe(false)
    expect(slots.stats()).toEqual({ inFlight: 2, waiting: 1 })
    first()
    // Released twice, given back once: the waiter takes the only free slot and no more is free.
    first()
    expect((await settledSoon(third)).settled).toBe(true)
    expect((await settledSoon(slots.acquire(undefined))).settled).toBe(false)
  })

  test("a request whose caller gives up while it waits leaves the queue, holding nothing", async () => {
    const slots = makeEgressSlots({ perTenant: 1, total: 10 })
    const held = await slots.acquire("a")
    const controller = new AbortController()
    const given = slots.acquire("a", controller.signal)
    const next = slots.acquire("a")
    controller.abort(new Error("timed out"))
    expect(await given.then(() => "granted", (e: Error) => e.message)).toBe("timed out")
    expect(slots.stats("a")).toEqual({ inFlight: 1, waiting: 1 })
    held()
    // The slot goes to the next waiter, not to the one that gave up.
    expect((await settledSoon(next)).settled).toBe(true)
    expect(slots.stats()).toEqual({ inFlight: 1, waiting: 0 })
    // Already aborted: refused at once.
    expect(await slots.acquire("c", AbortSignal.abort(new Error("gone"))).then(() => "granted", (e: Error) => e.message)).toBe("gone")
    expect(slots.stats("c")).toEqual({ inFlight: 0, waiting: 0 })
  })
})

/** A server that holds every request to /hold until `letGo`, answers /now at once and opens an endless event stream at /stream. */
let holding = 0
let peakHolding = 0
let releaseHeld: Array<() => void> = []
const letGo = () => {
  for (const f of releaseHeld.splice(0)) f()
}
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  idleTimeout: 60,
  fetch: async (req) => {
    const path = new URL(req.url).pathname
    if (path === "/hold") {
      peakHolding = Math.max(peakHolding, ++holding)
      await new Promise<void>((resolve) => releaseHeld.push(resolve))
      holding--
      return Response.json({ held: true })
    }
    if (path === "/stream") {
      return new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(": open\n\n")) }), {
        headers: { "content-type": "text/event-stream" }
      })
    }
    return Response.json({ now: true })
  }
})
afterAll(() => {
  letGo()
  server.stop(true)
})

const withPolicy = <A>(settings: Partial<EgressConfigShape>, f: (p: EgressPolicy) => Promise<A>) =>
  Effect.runPromise(
    Effect.flatMap(EgressPolicy, (p) => Effect.promise(() => f(p))).pipe(
      Effect.provide(EgressPolicy.Default.pipe(Layer.provide(EgressConfig.layerWith({ allow: ["127.0.0.1"], ...settings }))))
    )
  )

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`

describe("EgressPolicy.fetch under the slots", () => {
  test("a tenant's slow endpoint holds at most its share; another tenant's request goes through meanwhile", async () => {
    peakHolding = 0
    await withPolicy({ maxConcurrentPerTenant: 3, maxConcurrent: 100 }, async (policy) => {
      const slow = Array.from({ length: 8 }, () => policy.fetchWith(url("/hold"), {}, { tenant: "noisy" }).then((r) => r.json()))
      while (holding < 3) await Bun.sleep(10)
      const other = await policy.fetchWith(url("/now"), {}, { tenant: "quiet" }).then((r) => r.json())
      expect(other).toEqual({ now: true })
      expect(holding).toBe(3)
      // Let the held ones go as they come: each answer read to its end frees a slot for the next.
      const pump = setInterval(letGo, 5)
      try {
        expect(await Promise.all(slow)).toEqual(Array.from({ length: 8 }, () => ({ held: true })))
      } finally {
        clearInterval(pump)
      }
    })
    expect(peakHolding).toBe(3)
  }, 30_000)

  test("an open response stream holds its slot until it is cancelled; a refused request holds none", async () => {
    await withPolicy({ maxConcurrentPerTenant: 1, maxConcurrent: 100 }, async (policy) => {
      const stream = await policy.fetchWith(url("/stream"), {}, { tenant: "t" })
      const reader = stream.body!.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe(": open\n\n")
      const next = policy.fetchWith(url("/now"), {}, { tenant: "t" }).then((r) => r.json())
      expect((await settledSoon(next)).settled).toBe(false)
      await reader.cancel()
      expect(await next).toEqual({ now: true })
      // Refused by the policy (not admitted): the slot is given back, the next request is not held up.
      expect(await policy.fetchWith("http://10.255.255.1/", {}, { tenant: "t" }).then(() => "sent", () => "refused")).toBe("refused")
      expect(await policy.fetchWith(url("/now"), {}, { tenant: "t" }).then((r) => r.json())).toEqual({ now: true })
    })
  }, 30_000)

  test("a caller that gives up while waiting for a slot is answered with its abort, and nothing is sent for it", async () => {
    peakHolding = 0
    await withPolicy({ maxConcurrentPerTenant: 1, maxConcurrent: 100 }, async (policy) => {
      const first = policy.fetchWith(url("/hold"), {}, { tenant: "t" }).then((r) => r.json())
      while (holding < 1) await Bun.sleep(10)
      const gaveUp = await policy.fetchWith(url("/hold"), { signal: AbortSignal.timeout(50) }, { tenant: "t" })
        .then(() => "sent", (e: Error) => e.name)
      expect(gaveUp).toBe("TimeoutError")
      letGo()
      expect(await first).toEqual({ held: true })
    })
    expect(peakHolding).toBe(1)
  }, 30_000)
})

describe("a response under the slots whose caller aborts while reading", () => {
  test("fails the read with the abort, as fetch's own body does, and frees the slot", async () => {
    await withPolicy({ maxConcurrentPerTenant: 1, maxConcurrent: 100 }, async (policy) => {
      const controller = new AbortController()
      const res = await policy.fetchWith(url("/stream"), { signal: controller.signal }, { tenant: "t" })
      const reader = res.body!.getReader()
      await reader.read()
      const pending = reader.read().then(() => "ended", (e: Error) => e.name)
      controller.abort()
      expect(await pending).toBe("AbortError")
      expect(await policy.fetchWith(url("/now"), {}, { tenant: "t" }).then((r) => r.json())).toEqual({ now: true })
    })
  }, 30_000)
})

describe("event streams under the slots", () => {
  test("a tenant's open event streams have a share of their own: its requests still go through", async () => {
    await withPolicy({ maxConcurrentPerTenant: 1, maxStreamsPerTenant: 2, maxConcurrent: 100, maxStreams: 100 }, async (policy) => {
      const sse = { headers: { accept: "text/event-stream" } }
      const open = await Promise.all([1, 2].map(() => policy.fetchWith(url("/stream"), sse, { tenant: "t" })))
      const readers = open.map((r) => r.body!.getReader())
      await Promise.all(readers.map((r) => r.read()))
      const third = policy.fetchWith(url("/stream"), sse, { tenant: "t" })
      expect((await settledSoon(third)).settled).toBe(false)
      expect(await policy.fetchWith(url("/now"), {}, { tenant: "t" }).then((r) => r.json())).toEqual({ now: true })
      // A GET that accepts more than an event stream is a request like any other.
      expect(await policy.fetchWith(url("/now"), { headers: { accept: "application/json, text/event-stream" } }, { tenant: "t" })
        .then((r) => r.json())).toEqual({ now: true })
      await readers[0]!.cancel()
      const opened = await third
      expect(opened.status).toBe(200)
      await opened.body!.cancel()
      await readers[1]!.cancel()
    })
  }, 30_000)
})
