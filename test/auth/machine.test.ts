import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import * as jose from "jose"
import { authConfig, signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

// Sign-ups hash passwords (argon2id): slow on a busy CI machine.
setDefaultTimeout(30_000)

const SERVICE_TOKEN = `svc-${crypto.randomUUID()}`
const ISSUER = "agent-platform"
const AUDIENCE = "agent-platform-api"

let platform: TestPlatform
let jwksServer: ReturnType<typeof Bun.serve>
let rsa: jose.GenerateKeyPairResult
let rsaPem: string
let ec: jose.GenerateKeyPairResult
let alice: SignedUp
let bob: SignedUp

const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const query = <A extends object>(text: string) =>
  platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(text)))

beforeAll(async () => {
  rsa = await jose.generateKeyPair("RS256", { extractable: true })
  rsaPem = await jose.exportSPKI(rsa.publicKey)
  ec = await jose.generateKeyPair("ES256", { extractable: true })
  const jwk = { ...(await jose.exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" }
  // An external identity provider's key set, served like any IdP does.
  jwksServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ keys: [jwk] }) })
  platform = await startPlatform({
    auth: authConfig({
      serviceToken: Option.some(Redacted.make(SERVICE_TOKEN)),
      jwtPublicKey: Option.some(rsaPem),
      jwtJwksUrl: Option.some(`http://127.0.0.1:${jwksServer.port}/.well-known/jwks.json`),
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE
    })
  })
  ;[alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
}, 90_000)
afterAll(async () => {
  await platform.stop()
  jwksServer.stop(true)
})

describe("API keys", () => {
  test("a project admin creates a key; it authenticates as that project only, with its role", async () => {
    const created = await call("POST", `/projects/${alice.projectId}/api-keys`, alice.headers, { name: "ci", role: "developer" })
    expect(created.status).toBe(201)
    const { key, ...info } = await created.json()
    expect(key).toStartWith("ak_")
    expect(info).toMatchObject({ projectId: alice.projectId, name: "ci", role: "developer", createdBy: alice.userId })

    for (const headers of [{ "x-api-key": key }, bearer(key)]) {
      const me = await (await call("GET", "/auth/me", headers)).json()
      expect(me).toMatchObject({ kind: "apiKey", id: alice.userId })
      expect(me.projects).toEqual([{ projectId: alice.projectId, role: "developer" }])
    }
    // Tenancy: the other tenant's project does not exist for this key.
    expect((await call("GET", `/projects/${bob.projectId}`, { "x-api-key": key })).status).toBe(404)
    expect((await call("GET", `/projects/${alice.projectId}`, { "x-api-key": key })).status).toBe(200)
    // Keys cannot mint keys.
    expect((await call("POST", `/projects/${alice.projectId}/api-keys`, { "x-api-key": key }, { name: "x" })).status)
      .toBe(403)

    // Listed by prefix only; stored as a hash.
    const listed = await (await call("GET", `/projects/${alice.projectId}/api-keys`, alice.headers)).json()
    expect(JSON.stringify(listed)).not.toContain(key)
    expect(key.startsWith(listed[0].prefix)).toBe(true)
    const stored = await query<{ keyHash: string }>(`SELECT key_hash FROM api_keys WHERE id = '${info.id}'`)
    expect(stored[0].keyHash).toMatch(/^[0-9a-f]{64}$/)

    const revoked = await call("DELETE", `/projects/${alice.projectId}/api-keys/${info.id}`, alice.headers)
    expect(revoked.status).toBe(204)
    expect((await call("GET", "/auth/me", { "x-api-key": key })).status).toBe(401)
  })

  test("only admins manage keys; other tenants get 404; unknown keys get 401", async () => {
    expect((await call("POST", `/projects/${alice.projectId}/api-keys`, bob.headers, { name: "x" })).status).toBe(404)
    expect((await call("GET", "/auth/me", { "x-api-key": "ak_doesnotexist" })).status).toBe(401)
    const shared = await (await call("POST", "/projects", alice.headers, { name: "keys" })).json()
    await call("POST", `/projects/${shared.id}/members`, alice.headers, { email: bob.email, role: "viewer" })
    expect((await call("POST", `/projects/${shared.id}/api-keys`, bob.headers, { name: "x" })).status).toBe(403)
  })

  test("a key never grants more than its creator still holds", async () => {
    const project = await (await call("POST", "/projects", alice.headers, { name: "demote" })).json()
    await call("POST", `/projects/${project.id}/members`, alice.headers, { email: bob.email, role: "admin" })
    const { key } = await (await call("POST", `/projects/${project.id}/api-keys`, bob.headers, { name: "b", role: "admin" }))
      .json()
    await call("PATCH", `/projects/${project.id}/members/${bob.userId}`, alice.headers, { role: "viewer" })
    const me = await (await call("GET", "/auth/me", { "x-api-key": key })).json()
    expect(me.projects).toEqual([{ projectId: project.id, role: "viewer" }])
    await call("DELETE", `/projects/${project.id}/members/${bob.userId}`, alice.headers)
    expect((await call("GET", "/auth/me", { "x-api-key": key })).status).toBe(401)
  })
})

describe("secrets at rest", () => {
  test("passwords are argon2id hashes and refresh tokens SHA-256 hashes", async () => {
    const users = await query<{ passwordHash: string }>(`SELECT password_hash FROM users WHERE id = '${alice.userId}'`)
    expect(users[0].passwordHash).toStartWith("$argon2id$")
    const tokens = await query<{ tokenHash: string }>("SELECT token_hash FROM refresh_tokens")
    expect(tokens.length).toBeGreaterThan(0)
    expect(tokens.map((t) => t.tokenHash)).not.toContain(alice.refreshToken)
    for (const t of tokens) expect(t.tokenHash).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe("service-to-service", () => {
  test("the shared service token authenticates as a service, optionally on behalf of a user", async () => {
    const alone = await (await call("GET", "/auth/me", bearer(SERVICE_TOKEN))).json()
    expect(alone).toMatchObject({ kind: "service", projects: [] })
    const forAlice = await (await call("GET", "/auth/me", { ...bearer(SERVICE_TOKEN), "x-on-behalf-of": alice.userId }))
      .json()
    expect(forAlice).toMatchObject({ kind: "service", id: alice.userId })
    expect(forAlice.projects).toContainEqual({ projectId: alice.projectId, role: "admin" })
    expect((await call("GET", "/auth/me", { ...bearer(SERVICE_TOKEN), "x-on-behalf-of": "nobody" })).status).toBe(401)
    expect((await call("GET", "/auth/me", bearer(`${SERVICE_TOKEN}x`))).status).toBe(401)
  })
})

describe("tokens of an external issuer", () => {
  const external = (key: jose.CryptoKey, alg: string, claims: jose.JWTPayload = {}, header: Partial<jose.JWTHeaderParameters> = {}) =>
    new jose.SignJWT(claims)
      .setProtectedHeader({ alg, ...header })
      .setSubject(alice.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key)

  test("RS256 signed by the configured public key is accepted", async () => {
    const me = await call("GET", "/auth/me", bearer(await external(rsa.privateKey, "RS256")))
    expect(me.status).toBe(200)
    expect((await me.json()).id).toBe(alice.userId)
  })

  test("ES256 whose kid the JWKS lists is accepted", async () => {
    const me = await call("GET", "/auth/me", bearer(await external(ec.privateKey, "ES256", {}, { kid: "ec-1" })))
    expect(me.status).toBe(200)
  })

  test("another RSA key, or HS256 keyed with the public key (alg confusion) → 401", async () => {
    const other = await jose.generateKeyPair("RS256")
    expect((await call("GET", "/auth/me", bearer(await external(other.privateKey, "RS256")))).status).toBe(401)
    const confused = await new jose.SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(alice.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(rsaPem))
    expect((await call("GET", "/auth/me", bearer(confused))).status).toBe(401)
  })
})
