import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Option } from "effect"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/** OWASP API8 (security misconfiguration): the secure headers on every kind of answer. */
let platform: TestPlatform
let alice: SignedUp

beforeAll(async () => {
  // Served over https behind a proxy: HSTS is sent.
  platform = await startPlatform({ publicBaseUrl: Option.some("https://platform.example.test") })
  alice = await signUp(platform.baseUrl)
}, 240_000)
afterAll(() => platform?.stop())

const DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"

const expectApiHeaders = (res: Response) => {
  expect(res.headers.get("x-content-type-options")).toBe("nosniff")
  expect(res.headers.get("x-frame-options")).toBe("DENY")
  expect(res.headers.get("referrer-policy")).toBe("no-referrer")
  expect(res.headers.get("cache-control")).toBe("no-store")
  expect(res.headers.get("content-security-policy")).toBe(DATA_POLICY)
  expect(res.headers.get("strict-transport-security")).toContain("max-age=")
}

describe("secure response headers", () => {
  test("JSON answers: success, token responses, errors, 404/405, and GET /auth/me on both the full and the fast path", async () => {
    expectApiHeaders(await fetch(`${platform.baseUrl}/health`))
    const login = await fetch(`${platform.baseUrl}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: alice.email, password: "correct-horse-battery-9" })
    })
    expect(login.status).toBe(200)
    expectApiHeaders(login)
    expectApiHeaders(await fetch(`${platform.baseUrl}/agents`))
    expectApiHeaders(await fetch(`${platform.baseUrl}/no/such/route`))
    expectApiHeaders(await fetch(`${platform.baseUrl}/health`, { method: "DELETE" }))
    // The first call fills the caches; later ones are answered at Bun's router (src/http/FastPath.ts).
    for (let i = 0; i < 3; i++) {
      const me = await fetch(`${platform.baseUrl}/auth/me`, { headers: alice.headers })
      expect(me.status).toBe(200)
      expectApiHeaders(me)
    }
  })

  test("pages keep their own policies: the console shell is locked to its origin; the docs page is not given the data policy", async () => {
    const shell = await fetch(`${platform.baseUrl}/`)
    expect(shell.headers.get("content-type")).toContain("text/html")
    const policy = shell.headers.get("content-security-policy") ?? ""
    expect(policy).toContain("default-src 'self'")
    expect(policy).toContain("frame-ancestors 'none'")
    expect(policy).not.toContain("script-src 'unsafe-inline'")
    expect(shell.headers.get("cache-control")).toBe("no-cache")
    expect(shell.headers.get("x-content-type-options")).toBe("nosniff")
    const docs = await fetch(`${platform.baseUrl}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-security-policy")).toBeNull()
    expect(docs.headers.get("x-frame-options")).toBe("DENY")
  })
})
