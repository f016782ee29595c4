import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

let platform: TestPlatform
let user: SignedUp

beforeAll(async () => {
  platform = await startPlatform({ corsOrigins: ["http://app.example"] })
  user = await signUp(platform.baseUrl)
}, 90_000)
afterAll(() => platform.stop())

describe("gateway HTTP skeleton", () => {
  test("GET /health reports database and cluster", async () => {
    const res = await fetch(`${platform.baseUrl}/health`)
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.status).toBe("ok")
    expect(body.database).toMatchObject({ ok: true, embedded: true })
    expect(body.cluster.ok).toBe(true)
    expect(body.cluster.mode).toBe("single")
    // A single runner owns every shard of the default group.
    expect(body.cluster.ownedShards).toBeGreaterThan(0)
    // Nothing waits in cluster_messages: the processing watchdog reports no stall.
    expect(body.processing).toMatchObject({ ok: true, pendingMessages: 0 })
  })

  test("unknown route → 404 JSON", async () => {
    const res = await fetch(`${platform.baseUrl}/does/not/exist`)
    expect(res.status).toBe(404)
    expect(res.headers.get("content-type")).toContain("application/json")
    expect(await res.json()).toMatchObject({ _tag: "NotFound" })
  })

  test("known path, wrong method → 405 JSON with Allow", async () => {
    const res = await fetch(`${platform.baseUrl}/health`, { method: "DELETE" })
    expect(res.status).toBe(405)
    expect(res.headers.get("allow")).toBe("GET")
    expect(await res.json()).toMatchObject({ _tag: "MethodNotAllowed", allowed: ["GET"] })
  })

  test("malformed JSON → 400 JSON without internals", async () => {
    const res = await fetch(`${platform.baseUrl}/system/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...user.headers },
      body: "{\"jobId\":"
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(JSON.parse(text)).toMatchObject({ _tag: "BadRequest" })
    expect(text).not.toContain("at ")
  })

  test("wrong types → 400 with field-level issues", async () => {
    const res = await fetch(`${platform.baseUrl}/system/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...user.headers },
      body: JSON.stringify({ jobId: "x", durationMs: "soon" })
    })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.issues.map((i: { path: Array<string> }) => i.path.join("."))).toContain("durationMs")
    // One short sentence naming the field, not the payload's whole schema.
    expect(body.message).toStartWith("durationMs: ")
    expect(body.message.length).toBeLessThan(120)
    expect(body.message).not.toContain("readonly")
    expect(body.message).not.toContain("}")
  })

  test("job endpoints need a token", async () => {
    const res = await fetch(`${platform.baseUrl}/system/jobs/anything`)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ _tag: "Unauthorized" })
  })

  test("request id is echoed when sane and generated otherwise", async () => {
    const given = await fetch(`${platform.baseUrl}/health`, { headers: { "x-request-id": "req-123" } })
    expect(given.headers.get("x-request-id")).toBe("req-123")
    const bad = await fetch(`${platform.baseUrl}/health`, { headers: { "x-request-id": "no spaces <allowed>" } })
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })

  test("CORS allows configured origins only", async () => {
    const preflight = await fetch(`${platform.baseUrl}/system/jobs`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example", "access-control-request-method": "POST" }
    })
    expect(preflight.status).toBeLessThan(300)
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://app.example")
    const other = await fetch(`${platform.baseUrl}/health`, { headers: { origin: "http://evil.example" } })
    // A browser compares this header with its own origin: anything but that origin blocks it.
    expect(other.headers.get("access-control-allow-origin")).not.toBe("http://evil.example")
  })

  test("OpenAPI JSON and interactive docs are served", async () => {
    const spec = await (await fetch(`${platform.baseUrl}/openapi.json`)).json()
    expect(spec.openapi).toStartWith("3.")
    expect(Object.keys(spec.paths)).toContain("/health")
    const docs = await fetch(`${platform.baseUrl}/docs`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain("<html")
  })

  test("oversized body → 413", async () => {
    const small = await startPlatform({ maxBodyBytes: 1024 })
    try {
      const res = await fetch(`${small.baseUrl}/system/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jobId: "x".repeat(4096), durationMs: 1 })
      })
      expect(res.status).toBe(413)
      expect(res.headers.get("content-type")).toContain("application/json")
      expect(await res.json()).toMatchObject({ _tag: "PayloadTooLarge", message: expect.stringContaining("MAX_BODY_BYTES (1024 bytes)") })
      // Chunked (no Content-Length): known to be too large only once read, same answer.
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode(i === 0 ? `{"jobId":"${"y".repeat(500)}` : "y".repeat(500)))
          controller.enqueue(new TextEncoder().encode(`","durationMs":1}`))
          controller.close()
        }
      })
      const chunked = await fetch(`${small.baseUrl}/system/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chunks,
        duplex: "half"
      } as RequestInit)
      expect(chunked.status).toBe(413)
      expect(await chunked.json()).toMatchObject({ _tag: "PayloadTooLarge" })
      // Far past the limit Bun refuses it before the platform sees it: still a 413.
      const huge = await fetch(`${small.baseUrl}/system/jobs`, { method: "POST", body: "z".repeat(1024 * 1024) })
      expect(huge.status).toBe(413)
    } finally {
      await small.stop()
    }
    // Starts a second platform: more than the default 5 s on a busy machine.
  }, 60_000)
})
