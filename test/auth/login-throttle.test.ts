import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, ManagedRuntime } from "effect"
import { LoginThrottle, type ThrottlePolicy } from "../../src/auth/LoginThrottle.ts"
import { authConfig, signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

// Sign-ups and failed logins hash passwords (argon2id): slow on a busy machine.
setDefaultTimeout(60_000)

/**
 * Password guessing against /auth/login: per account, then per client IP (told apart by
 * `x-forwarded-for` behind a trusted proxy), locks that double and answer 429 with Retry-After.
 */
let platform: TestPlatform
let carol: SignedUp
let dave: SignedUp
const PASSWORD = "correct-horse-battery-9"

beforeAll(async () => {
  platform = await startPlatform({
    auth: authConfig({
      trustProxy: true,
      loginMaxFailuresPerAccount: 5,
      loginMaxFailuresPerIp: 8,
      loginLockoutBaseSeconds: 2,
      loginLockoutMaxSeconds: 60
    })
  })
  ;[carol, dave] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
}, 90_000)
afterAll(() => platform?.stop())

const login = (email: string, password: string, ip: string) =>
  fetch(`${platform.baseUrl}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify({ email, password })
  })

describe("login throttling", () => {
  test("10 wrong passwords lock the account: the right one answers 429 until the lock passes; others unaffected", async () => {
    const statuses: Array<number> = []
    let retryAfter: string | null = null
    for (let i = 0; i < 10; i++) {
      const res = await login(carol.email, `wrong-password-${i}`, "10.0.0.1")
      statuses.push(res.status)
      if (res.status === 429) retryAfter = res.headers.get("retry-after")
      await res.arrayBuffer()
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429])
    expect(retryAfter).toBe("2")

    const right = await login(carol.email, PASSWORD, "10.0.0.2")
    expect(right.status).toBe(429)
    expect(await right.json()).toMatchObject({ _tag: "TooManyRequests", retryAfterSeconds: 2 })
    // Another account, from the same address, is not locked.
    expect((await login(dave.email, PASSWORD, "10.0.0.1")).status).toBe(200)

    await Bun.sleep(2_100)
    expect((await login(carol.email, PASSWORD, "10.0.0.1")).status).toBe(200)
    // The success cleared the account's count: one wrong password is a plain 401 again.
    expect((await login(carol.email, "wrong-again-123", "10.0.0.1")).status).toBe(401)
  })

  test("20 concurrent guesses: at most 5 reach the password check", async () => {
    const frank = await signUp(platform.baseUrl)
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(frank.email, `parallel-${i}-xxxxxx`, `10.0.2.${i}`).then(async (r) => {
        await r.arrayBuffer()
        return r.status
      }))
    )
    expect(statuses.filter((s) => s === 401).length).toBe(5)
    expect(statuses.filter((s) => s === 429).length).toBe(15)
  })

  test("the lock doubles with each failure after it", async () => {
    const eve = await signUp(platform.baseUrl)
    for (let i = 0; i < 5; i++) await (await login(eve.email, `nope-${i}-xxxxxx`, "10.0.1.1")).arrayBuffer()
    await Bun.sleep(2_100)
    // The 6th failure locks for twice as long.
    expect((await login(eve.email, "nope-6-xxxxxx", "10.0.1.2")).status).toBe(401)
    const locked = await login(eve.email, PASSWORD, "10.0.1.3")
    expect(locked.status).toBe(429)
    expect(locked.headers.get("retry-after")).toBe("4")
  })

  test("one address guessing across accounts is locked out; other addresses are not", async () => {
    const victims = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl), signUp(platform.baseUrl)])
    const statuses: Array<number> = []
    for (let i = 0; i < 9; i++) {
      const res = await login(victims[i % 3].email, `guess-${i}-xxxxxx`, "192.0.2.66")
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    // 3 failures per account (under its limit), 8 from the address: the 9th is refused.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429])
    expect((await login(victims[0].email, PASSWORD, "192.0.2.66")).status).toBe(429)
    expect((await login(victims[0].email, PASSWORD, "192.0.2.67")).status).toBe(200)
  })
})

describe("the Redis store (REDIS_URL): one lock for every node", () => {
  test("attempts counted by one node lock the key on another; a refund or clear unlocks it", async () => {
    const prefix = `test:login:${crypto.randomUUID()}:`
    const node = LoginThrottle.redis("redis://127.0.0.1:6379", prefix)
    const policy: ThrottlePolicy = { maxFailures: 3, windowMs: 60_000, baseLockMs: 5_000, maxLockMs: 20_000 }
    const onNode = <A>(effect: Effect.Effect<A, never, LoginThrottle>) => Effect.runPromise(Effect.provide(effect, node))
    const attempt = (key: string) => onNode(LoginThrottle.attempt(key, policy))
    const lockedElsewhere = (key: string) => onNode(LoginThrottle.lockedFor(key))
    expect([await attempt("k"), await attempt("k")]).toEqual([0, 0])
    expect(await lockedElsewhere("k")).toBe(0)
    // The third attempt goes ahead and sets the lock; the fourth is refused while it lasts.
    expect(await attempt("k")).toBe(0)
    const first = await lockedElsewhere("k")
    expect(first).toBeGreaterThan(4_000)
    expect(first).toBeLessThanOrEqual(5_000)
    expect(await attempt("k")).toBeGreaterThan(4_000)
    expect(await lockedElsewhere("other")).toBe(0)
    // The third attempt turned out right: its count and its lock are taken back.
    await onNode(LoginThrottle.refund("k", policy))
    expect(await lockedElsewhere("k")).toBe(0)
    expect(await attempt("k")).toBe(0)
    await onNode(LoginThrottle.clear("k"))
    expect(await lockedElsewhere("k")).toBe(0)
  })

  test("Redis unreachable: attempts are counted in this process, so guessing still locks the key (never fails open)", async () => {
    const node = ManagedRuntime.make(LoginThrottle.redis("redis://127.0.0.1:1", `test:login:${crypto.randomUUID()}:`))
    const policy: ThrottlePolicy = { maxFailures: 3, windowMs: 60_000, baseLockMs: 5_000, maxLockMs: 20_000 }
    try {
      const attempt = (key: string) => node.runPromise(LoginThrottle.attempt(key, policy))
      expect([await attempt("k"), await attempt("k"), await attempt("k")]).toEqual([0, 0, 0])
      expect(await attempt("k")).toBeGreaterThan(4_000)
      expect(await node.runPromise(LoginThrottle.lockedFor("k"))).toBeGreaterThan(4_000)
      expect(await attempt("other")).toBe(0)
      await node.runPromise(LoginThrottle.clear("k"))
      expect(await attempt("k")).toBe(0)
    } finally {
      await node.dispose()
    }
  })
})
