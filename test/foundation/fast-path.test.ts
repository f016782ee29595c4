import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Metric, MetricLabel, Option, Redacted } from "effect"
import { HttpFastPath } from "../../src/http/FastPath.ts"
import { HttpMetrics } from "../../src/observability/Metrics.ts"
import { authConfig, type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * GET /auth/me is answered by the HTTP fast path (src/http/FastPath.ts) once the caller's token
 * and principal are cached, by the full HttpApp otherwise: both answers, spans, metrics and
 * rate-limit buckets must be the same.
 */
const serviceToken = `svc-${crypto.randomUUID()}`
const USER_BURST = 6
let platform: TestPlatform
let served: () => number

beforeAll(async () => {
  platform = await startPlatform({
    corsOrigins: ["https://a.example", "https://b.example"],
    // The caller bucket barely refills during the test: its tokens are counted exactly.
    auth: authConfig({ serviceToken: Option.some(Redacted.make(serviceToken)), rateLimitUserBurst: USER_BURST, rateLimitUserPerSecond: 0.001 }),
    // Every trivial request's span stored: the fast path must then make each one.
    observability: { traceFlushIntervalMs: 100, traceTrivialSampleRatio: 1 }
  })
  served = platform.runtime.runSync(Effect.map(HttpFastPath, (f) => f.served))
}, 150_000)
afterAll(() => platform?.stop())

const me = (user: SignedUp, headers: Record<string, string> = {}) =>
  fetch(`${platform.baseUrl}/auth/me`, { headers: { ...user.headers, ...headers } })

/** Everything a client sees, less what differs per response by nature. */
const visible = async (res: Response) => {
  const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== "date"))
  return { status: res.status, headers, body: await res.json() }
}

const requestsCounted = (status: string, route = "/auth/me") =>
  Effect.runSync(Metric.value(HttpMetrics.requests.pipe(Metric.taggedWithLabels([
    MetricLabel.make("method", "GET"),
    MetricLabel.make("route", route),
    MetricLabel.make("status", status)
  ])))).count

describe("HTTP fast path", () => {
  test("the same answer as the full path: body, content type, request id, CORS headers; counted in the HTTP metrics", async () => {
    const user = await signUp(platform.baseUrl)
    const counted = requestsCounted("200")
    const before = served()
    const headers = { origin: "https://b.example", "x-request-id": "client-id-1" }
    // The first use of the token verifies it and loads the principal: full path.
    const full = await visible(await me(user, headers))
    expect(served()).toBe(before)
    const fast = await visible(await me(user, headers))
    expect(served()).toBe(before + 1)
    expect(fast).toEqual(full)
    expect(fast.status).toBe(200)
    expect(fast.headers["x-request-id"]).toBe("client-id-1")
    expect(fast.headers["access-control-allow-origin"]).toBe("https://b.example")
    expect(fast.headers["content-type"]).toBe("application/json")
    expect(fast.body).toMatchObject({ id: user.userId, email: user.email, kind: "user" })

    // An origin that is not allowed gets no allow-origin on either path; an insane request id is replaced.
    const other = { origin: "https://evil.example", "x-request-id": "bad id with spaces" }
    const fastOther = await visible(await me(user, other))
    expect(served()).toBe(before + 2)
    expect(fastOther.headers["access-control-allow-origin"]).toBeUndefined()
    expect(fastOther.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/)
    expect(requestsCounted("200")).toBe(counted + 3)
  })

  test("a query string, an unknown token and a logged-out session take the full path", async () => {
    const user = await signUp(platform.baseUrl)
    await me(user)
    const before = served()
    expect((await fetch(`${platform.baseUrl}/auth/me?x=1`, { headers: user.headers })).status).toBe(200)
    expect((await me(user, { authorization: "Bearer not-a-token" })).status).toBe(401)
    expect(served()).toBe(before)
    expect((await me(user)).status).toBe(200)
    expect(served()).toBe(before + 1)

    const logout = await fetch(`${platform.baseUrl}/auth/logout`, { method: "POST", headers: user.headers })
    expect(logout.status).toBeLessThan(300)
    // The token is still cached as verified, the principal is not: 401 from the full path.
    expect((await me(user)).status).toBe(401)
    expect(served()).toBe(before + 1)
  })

  test("spends the same rate-limit buckets: the caller's burst is shared, and its 429 is worded as the full path's", async () => {
    const user = await signUp(platform.baseUrl)
    const statuses: Array<number> = []
    const before = served()
    const refusedBefore = requestsCounted("429", "unmatched")
    for (let i = 0; i < USER_BURST + 2; i++) statuses.push((await me(user)).status)
    // The first request went through the full path, the rest through the fast path (the two refusals too).
    expect(statuses).toEqual([...Array(USER_BURST).fill(200), 429, 429])
    expect(served()).toBe(before + USER_BURST + 1)
    const headers = { origin: "https://a.example", "x-request-id": "limited-1" }
    const fast = await visible(await me(user, headers))
    expect(served()).toBe(before + USER_BURST + 2)
    // With a query string: the full path's 429.
    const full = await visible(await fetch(`${platform.baseUrl}/auth/me?full=1`, { headers: { ...user.headers, ...headers } }))
    expect(served()).toBe(before + USER_BURST + 2)
    expect(full.status).toBe(429)
    // Seconds to wait may tick between the two answers.
    const settled = (v: typeof fast) => ({ ...v, headers: { ...v.headers, "retry-after": "n" }, body: { ...v.body, retryAfterSeconds: 0 } })
    expect(settled(fast)).toEqual(settled(full))
    expect(Number(fast.headers["retry-after"])).toBeGreaterThan(0)
    expect(fast.body).toMatchObject({ _tag: "TooManyRequests", retryAfterSeconds: Number(fast.headers["retry-after"]) })
    // Refused before routing on the full path: counted as unmatched on both.
    expect(requestsCounted("429", "unmatched")).toBe(refusedBefore + 4)
  })

  test("the server span joins the caller's traceparent with the full path's attributes", async () => {
    const user = await signUp(platform.baseUrl)
    await me(user)
    const traceId = crypto.randomUUID().replaceAll("-", "")
    const callerSpan = "b7ad6b7169203331"
    const before = served()
    const res = await me(user, { traceparent: `00-${traceId}-${callerSpan}-01`, "user-agent": "fast-path-test" })
    expect(res.status).toBe(200)
    expect(served()).toBe(before + 1)
    let spans: Array<{ operation: string; kind: string | null; parentSpanId: string | null; attributes: Record<string, unknown> }> = []
    await waitFor(async () => {
      const got = await fetch(`${platform.baseUrl}/observability/traces/${traceId}`, { headers: { authorization: `Bearer ${serviceToken}` } })
      spans = got.status === 200 ? ((await got.json()) as { spans: typeof spans }).spans : []
      return spans.length > 0
    }, 20_000)
    expect(spans.map((s) => [s.operation, s.parentSpanId])).toEqual([["http.server GET", callerSpan]])
    expect(spans[0].attributes).toMatchObject({
      "http.request.method": "GET",
      "http.route": "/auth/me",
      "url.path": "/auth/me",
      "http.response.status_code": 200,
      "request.id": res.headers.get("x-request-id")
    })
  })

  test("a trivial request's span, when the store keeps it, is made as the full path's (root, route, request id)", async () => {
    const user = await signUp(platform.baseUrl)
    await me(user)
    const before = served()
    const requestId = `kept-${crypto.randomUUID()}`
    expect((await me(user, { "x-request-id": requestId })).status).toBe(200)
    expect(served()).toBe(before + 1)
    type Listed = { parentSpanId: string | null; durationMs: number; attributes: Record<string, unknown> }
    let kept: Array<Listed> = []
    await waitFor(async () => {
      const got = await fetch(`${platform.baseUrl}/observability/traces?operation=${encodeURIComponent("http.server GET")}&limit=1000`, {
        headers: { authorization: `Bearer ${serviceToken}` }
      })
      const spans = got.status === 200 ? ((await got.json()) as { spans: Array<Listed> }).spans : []
      kept = spans.filter((s) => s.attributes["request.id"] === requestId)
      return kept.length > 0
    }, 20_000)
    expect(kept).toHaveLength(1)
    expect(kept[0].parentSpanId).toBeNull()
    expect(kept[0].durationMs).toBeGreaterThanOrEqual(0)
    expect(kept[0].attributes).toMatchObject({ "http.route": "/auth/me", "url.path": "/auth/me", "http.response.status_code": 200 })
  })
})
