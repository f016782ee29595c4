import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, ManagedRuntime, Option, Redacted, TestClock } from "effect"
import { RateLimiter } from "../../src/gateway/RateLimiter.ts"
import { authConfig, signUp } from "../support/auth.ts"
import { runTest } from "../support/effect.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

// Sign-ups hash passwords (argon2id): slow on a busy CI machine.
setDefaultTimeout(30_000)

const REDIS_URL = "redis://127.0.0.1:6379"

/** A prefix no other test (or earlier run) shares, so buckets start full. */
const uniquePrefix = () => `ratelimit-test:${crypto.randomUUID()}:`

const limits = { rateLimitIpPerSecond: 1, rateLimitIpBurst: 40, rateLimitUserPerSecond: 0.2, rateLimitUserBurst: 5 }

// The same HTTP behaviour on both stores: Redis (several gateway nodes share buckets) and the
// middleware's synchronous in-memory path (no Redis configured).
const backends = [
  { name: "Redis-backed", auth: () => authConfig({ ...limits, redisUrl: Option.some(Redacted.make(REDIS_URL)), rateLimitKeyPrefix: uniquePrefix() }) },
  { name: "in-memory", auth: () => authConfig(limits) }
] as const

describe.each(backends)("HTTP rate limits ($name)", ({ auth }) => {
  let platform: TestPlatform
  beforeAll(async () => {
    platform = await startPlatform({ auth: auth() })
  }, 90_000)
  afterAll(() => platform.stop())

  const me = (headers: Record<string, string> = {}) => fetch(`${platform.baseUrl}/auth/me`, { headers })

  test("per user, from the first request of a token on: the 6th of a 5-token bucket → 429 with Retry-After; another user is unaffected", async () => {
    const [alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
    // The first request verifies the token (not yet cached), the next ones read the cache: both spend.
    for (let i = 0; i < 5; i++) expect((await me(alice.headers)).status).toBe(200)
    const limited = await me(alice.headers)
    expect(limited.status).toBe(429)
    // 0.2 tokens/s: the next one is ~5 s away.
    const retryAfter = Number(limited.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThanOrEqual(4)
    expect(retryAfter).toBeLessThanOrEqual(6)
    expect(await limited.json()).toMatchObject({ _tag: "TooManyRequests", retryAfterSeconds: retryAfter })
    expect((await me(bob.headers)).status).toBe(200)
    // An invalid token spends only the IP bucket and is refused by the authenticator.
    expect((await me({ authorization: "Bearer not.a.jwt" })).status).toBe(401)
  })

  test("per IP: anonymous floods hit 429; health checks are never limited; tokens refill", async () => {
    let limited: Response | undefined
    for (let i = 0; i < 60 && limited === undefined; i++) {
      const res = await me()
      if (res.status === 429) limited = res
      else expect(res.status).toBe(401)
    }
    expect(limited).toBeDefined()
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await fetch(`${platform.baseUrl}/health`)).status).toBe(200)
    await Bun.sleep(Number(limited!.headers.get("retry-after")) * 1000 + 100)
    expect((await me()).status).toBe(401)
  })
})

describe("token bucket stores", () => {
  const bucket = { rate: 2, burst: 3 }
  const spend = (rt: ManagedRuntime.ManagedRuntime<RateLimiter, never>, key: string, n: number) =>
    rt.runPromise(Effect.forEach(Array.from({ length: n }), () => RateLimiter.consume(key, bucket)))

  test("in-memory: burst, then refusal with the time to the next token; refills on the clock, capped at the burst", () =>
    runTest(Effect.gen(function*() {
      const consume = (key: string, n: number) =>
        Effect.forEach(Array.from({ length: n }), () => RateLimiter.consume(key, bucket))
      const decisions = yield* consume("k", 4)
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false])
      // Time stands still under TestClock: an empty bucket at 2 tokens/s is exactly 500 ms from a token.
      expect(decisions[3].retryAfterMs).toBe(500)
      expect((yield* consume("other", 1))[0].allowed).toBe(true)
      // Half a token back after 250 ms: still refused, 250 ms to go.
      yield* TestClock.adjust("250 millis")
      expect(yield* consume("k", 1)).toEqual([{ allowed: false, retryAfterMs: 250 }])
      yield* TestClock.adjust("250 millis")
      expect((yield* consume("k", 2)).map((d) => d.allowed)).toEqual([true, false])
      // A long quiet spell refills to the burst, no further.
      yield* TestClock.adjust("1 hour")
      expect((yield* consume("k", 4)).map((d) => d.allowed)).toEqual([true, true, true, false])
    }).pipe(Effect.provide(RateLimiter.memory))))

  test("Redis: two gateway nodes (two clients) share one bucket", async () => {
    const prefix = uniquePrefix()
    const nodeA = ManagedRuntime.make(RateLimiter.redis(REDIS_URL, prefix))
    const nodeB = ManagedRuntime.make(RateLimiter.redis(REDIS_URL, prefix))
    try {
      expect((await spend(nodeA, "user:1", 2)).every((d) => d.allowed)).toBe(true)
      const [third, fourth] = await spend(nodeB, "user:1", 2)
      expect(third.allowed).toBe(true)
      expect(fourth.allowed).toBe(false)
      expect(fourth.retryAfterMs).toBeGreaterThan(0)
      expect(fourth.retryAfterMs).toBeLessThanOrEqual(500)
      // Refills on Redis' clock: after 600 ms at 2/s there is a token again.
      await Bun.sleep(600)
      expect((await spend(nodeA, "user:1", 1))[0].allowed).toBe(true)
    } finally {
      await Promise.all([nodeA.dispose(), nodeB.dispose()])
    }
  })

  test("Redis unreachable: limits decided in this process, neither an error nor lifted limits", async () => {
    const node = ManagedRuntime.make(RateLimiter.redis("redis://127.0.0.1:1", uniquePrefix()))
    try {
      expect((await spend(node, "k", 4)).map((d) => d.allowed)).toEqual([true, true, true, false])
      expect((await spend(node, "other", 1))[0].allowed).toBe(true)
    } finally {
      await node.dispose()
    }
  })
})
