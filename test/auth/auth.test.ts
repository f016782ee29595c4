import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Redacted } from "effect"
import * as jose from "jose"
import { Principals } from "../../src/auth/Principals.ts"
import { authConfig, signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

// Sign-ups hash passwords (argon2id): slow on a busy CI machine.
setDefaultTimeout(30_000)

const SECRET = "test-secret-0123456789-abcdefghijklmnop"
const auth = authConfig({ jwtSecret: Option.some(Redacted.make(SECRET)) })

let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${platform.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${platform.baseUrl}${path}`, { headers })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A token signed like the gateway's own, with some claims or the key changed. */
const forge = (claims: jose.JWTPayload, opts: { key?: string; audience?: string; exp?: number } = {}) =>
  new jose.SignJWT({ sid: undefined, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(auth.jwtIssuer)
    .setAudience(opts.audience ?? auth.jwtAudience)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(opts.key ?? SECRET))

beforeAll(async () => {
  platform = await startPlatform({ auth })
  ;[alice, bob] = await Promise.all([signUp(platform.baseUrl, { displayName: "Alice" }), signUp(platform.baseUrl)])
}, 90_000)
afterAll(() => platform.stop())

describe("registration and login", () => {
  test("register returns tokens, a personal project, and /auth/me shows the admin role", async () => {
    const res = await get("/auth/me", alice.headers)
    expect(res.status).toBe(200)
    const me = await res.json()
    expect(me).toMatchObject({ id: alice.userId, email: alice.email, displayName: "Alice", kind: "user" })
    expect(me.projects).toEqual([{ projectId: alice.projectId, role: "admin" }])
  })

  test("duplicate registration → 409, case-insensitively", async () => {
    const res = await post("/auth/register", { email: alice.email.toUpperCase(), password: "another-Pass-123" })
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ _tag: "Conflict" })
  })

  test.each([
    ["short", "at least 10"],
    ["abcdefghijklmnop", "mix letters"],
    ["password123", "too common"],
    ["aaaaaaaaaa1", "distinct"]
  ])("weak password %p → 400 naming the password field", async (password, why) => {
    const res = await post("/auth/register", { email: `weak-${crypto.randomUUID()}@test.example`, password })
    expect(res.status).toBe(400)
    const body = await res.json()
    const issue = body.issues.find((i: { path: Array<string> }) => i.path.join(".") === "password")
    expect(issue.message).toContain(why)
  })

  test("invalid email → 400 naming the email field", async () => {
    const res = await post("/auth/register", { email: "not-an-email", password: "correct-horse-battery-9" })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.issues.map((i: { path: Array<string> }) => i.path.join("."))).toContain("email")
  })

  test("login with the right password works; wrong password or unknown email → the same 401", async () => {
    const ok = await post("/auth/login", { email: alice.email, password: "correct-horse-battery-9" })
    expect(ok.status).toBe(200)
    const tokens = await ok.json()
    expect(tokens).toMatchObject({ tokenType: "Bearer", user: { id: alice.userId } })
    expect((await get("/auth/me", bearer(tokens.accessToken))).status).toBe(200)

    const wrong = await post("/auth/login", { email: alice.email, password: "wrong-horse-battery-9" })
    const unknown = await post("/auth/login", { email: "nobody@test.example", password: "wrong-horse-battery-9" })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(await wrong.json()).toEqual(await unknown.json())
  })
})

describe("refresh tokens", () => {
  test("refresh rotates: the new pair works, the old refresh token is single-use", async () => {
    const user = await signUp(platform.baseUrl)
    const first = await post("/auth/refresh", { refreshToken: user.refreshToken })
    expect(first.status).toBe(200)
    const pair = await first.json()
    expect(pair.refreshToken).not.toBe(user.refreshToken)
    expect((await get("/auth/me", bearer(pair.accessToken))).status).toBe(200)
    const second = await post("/auth/refresh", { refreshToken: pair.refreshToken })
    expect(second.status).toBe(200)
  })

  test("reusing an old refresh token revokes the whole family", async () => {
    const user = await signUp(platform.baseUrl)
    const rotated = await (await post("/auth/refresh", { refreshToken: user.refreshToken })).json()
    // The stolen copy comes back:
    const reuse = await post("/auth/refresh", { refreshToken: user.refreshToken })
    expect(reuse.status).toBe(401)
    // ...so the legitimate successor and the session's access tokens are dead too.
    expect((await post("/auth/refresh", { refreshToken: rotated.refreshToken })).status).toBe(401)
    expect((await get("/auth/me", bearer(rotated.accessToken))).status).toBe(401)
    expect((await get("/auth/me", user.headers)).status).toBe(401)
    // Other sessions of the same user are untouched.
    const again = await post("/auth/login", { email: user.email, password: "correct-horse-battery-9" })
    expect((await get("/auth/me", bearer((await again.json()).accessToken))).status).toBe(200)
  })

  test("unknown or malformed refresh tokens → 401 or 400, never 5xx", async () => {
    expect((await post("/auth/refresh", { refreshToken: "nope" })).status).toBe(401)
    expect((await post("/auth/refresh", { refreshToken: "" })).status).toBe(400)
    expect((await post("/auth/refresh", {})).status).toBe(400)
  })

  test("logout revokes the session: its access and refresh tokens stop working", async () => {
    const user = await signUp(platform.baseUrl)
    const res = await post("/auth/logout", {}, user.headers)
    expect(res.status).toBe(204)
    expect((await get("/auth/me", user.headers)).status).toBe(401)
    expect((await post("/auth/refresh", { refreshToken: user.refreshToken })).status).toBe(401)
  })
})

describe("bad access tokens → 401", () => {
  test("missing, garbage and non-bearer credentials", async () => {
    expect((await get("/auth/me")).status).toBe(401)
    expect((await get("/auth/me", { authorization: "Bearer not.a.jwt" })).status).toBe(401)
    expect((await get("/auth/me", { authorization: `Basic ${btoa("a:b")}` })).status).toBe(401)
    expect((await get("/auth/me", { authorization: "Bearer " })).status).toBe(401)
  })

  test("alg=none", async () => {
    const token = new jose.UnsecuredJWT({ sub: alice.userId })
      .setIssuer(auth.jwtIssuer)
      .setAudience(auth.jwtAudience)
      .setExpirationTime("10m")
      .encode()
    expect((await get("/auth/me", bearer(token))).status).toBe(401)
  })

  test("tampered payload", async () => {
    const [header, , signature] = alice.token.split(".")
    const payload = Buffer.from(JSON.stringify({ sub: bob.userId, exp: 9999999999 })).toString("base64url")
    expect((await get("/auth/me", bearer(`${header}.${payload}.${signature}`))).status).toBe(401)
  })

  test("signed with another key", async () => {
    expect((await get("/auth/me", bearer(await forge({ sub: alice.userId }, { key: "x".repeat(40) })))).status).toBe(401)
  })

  test("expired", async () => {
    const token = await forge({ sub: alice.userId }, { exp: Math.floor(Date.now() / 1000) - 60 })
    expect((await get("/auth/me", bearer(token))).status).toBe(401)
  })

  test("wrong audience", async () => {
    expect((await get("/auth/me", bearer(await forge({ sub: alice.userId }, { audience: "someone-else" })))).status)
      .toBe(401)
  })

  test("a well-signed token of an unknown user or a made-up session", async () => {
    expect((await get("/auth/me", bearer(await forge({ sub: crypto.randomUUID() })))).status).toBe(401)
    expect((await get("/auth/me", bearer(await forge({ sub: alice.userId, sid: crypto.randomUUID() })))).status)
      .toBe(401)
  })
})

describe("projects and tenancy", () => {
  test("a user lists only their own projects; another tenant's project is 404", async () => {
    const list = await (await get("/projects", alice.headers)).json()
    expect(list.map((p: { id: string }) => p.id)).toEqual([alice.projectId])
    const other = await get(`/projects/${bob.projectId}`, alice.headers)
    expect(other.status).toBe(404)
    const missing = await get(`/projects/${crypto.randomUUID()}`, alice.headers)
    expect(missing.status).toBe(404)
    // Same body: no way to tell "exists but not yours" from "does not exist".
    expect(await other.json()).toEqual(await missing.json())
    expect((await get(`/projects/${bob.projectId}/members`, alice.headers)).status).toBe(404)
  })

  test("create a project, add a member with a role; roles are enforced", async () => {
    const created = await post("/projects", { name: "Shared" }, alice.headers)
    expect(created.status).toBe(201)
    const project = await created.json()
    expect(project).toMatchObject({ name: "Shared", role: "admin", ownerId: alice.userId })

    const carol = await signUp(platform.baseUrl)
    const added = await post(`/projects/${project.id}/members`, { email: carol.email, role: "viewer" }, alice.headers)
    expect(added.status).toBe(201)
    expect(await added.json()).toMatchObject({ userId: carol.userId, role: "viewer" })
    expect((await post(`/projects/${project.id}/members`, { email: carol.email, role: "viewer" }, alice.headers)).status)
      .toBe(409)

    // Membership shows up at once (the principal cache was invalidated).
    const me = await (await get("/auth/me", carol.headers)).json()
    expect(me.projects).toContainEqual({ projectId: project.id, role: "viewer" })
    expect((await get(`/projects/${project.id}`, carol.headers)).status).toBe(200)

    // A viewer cannot manage members: 403 (they can see the project, so no existence leak).
    const denied = await post(`/projects/${project.id}/members`, { email: bob.email, role: "admin" }, carol.headers)
    expect(denied.status).toBe(403)

    // Promote, then the last admin cannot leave.
    const patched = await fetch(`${platform.baseUrl}/projects/${project.id}/members/${carol.userId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", ...alice.headers },
      body: JSON.stringify({ role: "developer" })
    })
    expect(await patched.json()).toMatchObject({ role: "developer" })
    const lastAdmin = await fetch(`${platform.baseUrl}/projects/${project.id}/members/${alice.userId}`, {
      method: "DELETE",
      headers: alice.headers
    })
    expect(lastAdmin.status).toBe(409)

    const removed = await fetch(`${platform.baseUrl}/projects/${project.id}/members/${carol.userId}`, {
      method: "DELETE",
      headers: alice.headers
    })
    expect(removed.status).toBe(204)
    expect((await get(`/projects/${project.id}`, carol.headers)).status).toBe(404)
  })

  test("blank project name and unknown role → 400", async () => {
    expect((await post("/projects", { name: "   " }, alice.headers)).status).toBe(400)
    expect((await post(`/projects/${alice.projectId}/members`, { email: bob.email, role: "owner" }, alice.headers)).status)
      .toBe(400)
  })
})

describe("principal cache", () => {
  test("an invalidation on one gateway instance reaches the others' caches (EventBus)", async () => {
    const user = await signUp(platform.baseUrl)
    const projectId = crypto.randomUUID()
    const projectsOf = (p: Option.Option<{ projects: ReadonlyMap<string, string> }>) =>
      Option.match(p, { onNone: () => [], onSome: (x) => [...x.projects.keys()] })
    const result = await platform.runtime.runPromise(
      Effect.gen(function*() {
        // Two independent instances, as on two nodes: separate caches, one bus.
        const nodeA = yield* Layer.build(Layer.fresh(Principals.Default))
        const nodeB = yield* Layer.build(Layer.fresh(Principals.Default))
        const a = Effect.provide(Principals, nodeA)
        const b = Effect.provide(Principals, nodeB)
        const before = projectsOf(yield* Effect.flatMap(b, (p) => p.load(user.userId, undefined)))
        // A membership written behind the caches' backs (as another node would):
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${projectId}, 'side door', ${user.userId})`
        yield* sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${user.userId}, 'viewer')`
        const stale = projectsOf(yield* Effect.flatMap(b, (p) => p.load(user.userId, undefined)))
        yield* Effect.flatMap(a, (p) => p.invalidateUser(user.userId))
        // Delivery is asynchronous: poll node B briefly.
        let fresh: Array<string> = []
        for (let i = 0; i < 50 && !fresh.includes(projectId); i++) {
          yield* Effect.sleep("20 millis")
          fresh = projectsOf(yield* Effect.flatMap(b, (p) => p.load(user.userId, undefined)))
        }
        return { before, stale, fresh }
      }).pipe(Effect.scoped)
    )
    expect(result.before).toEqual([user.projectId])
    expect(result.stale).toEqual([user.projectId])
    expect(result.fresh).toContain(projectId)
  })
})
