import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { authConfig, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

// Sign-ups hash passwords (argon2id): slow on a busy CI machine.
setDefaultTimeout(30_000)

let platform: TestPlatform

beforeAll(async () => {
  // No Redis: the middleware's synchronous in-memory path (ratelimit.test.ts covers Redis).
  platform = await startPlatform({
    auth: authConfig({ rateLimitIpPerSecond: 1, rateLimitIpBurst: 40, rateLimitUserPerSecond: 0.2, rateLimitUserBurst: 5 })
  })
}, 90_000)
afterAll(() => platform.stop())

const me = (headers: Record<string, string> = {}) => fetch(`${platform.baseUrl}/auth/me`, { headers })

describe("HTTP rate limits (in-memory)", () => {
  test("per user, from the first request of a token on: the 6th of a 5-token bucket → 429; another user is unaffected", async () => {
    const [alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
    // The first request verifies the token (not yet cached), the next ones read the cache: both spend.
    for (let i = 0; i < 5; i++) expect((await me(alice.headers)).status).toBe(200)
    const limited = await me(alice.headers)
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThanOrEqual(4)
    expect(retryAfter).toBeLessThanOrEqual(6)
    expect(await limited.json()).toMatchObject({ _tag: "TooManyRequests", retryAfterSeconds: retryAfter })
    expect((await me(bob.headers)).status).toBe(200)
    // An invalid token spends only the IP bucket and is refused by the authenticator.
    expect((await me({ authorization: "Bearer not.a.jwt" })).status).toBe(401)
  })

  test("per IP: anonymous floods hit 429; health checks are never limited", async () => {
    let limited: Response | undefined
    for (let i = 0; i < 60 && limited === undefined; i++) {
      const res = await me()
      if (res.status === 429) limited = res
      else expect(res.status).toBe(401)
    }
    expect(limited).toBeDefined()
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await fetch(`${platform.baseUrl}/health`)).status).toBe(200)
  })
})
