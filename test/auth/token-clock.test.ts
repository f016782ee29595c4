import { describe, expect, test } from "bun:test"
import { Effect, Layer, Option, Redacted } from "effect"
import * as jose from "jose"
import { AuthConfig } from "../../src/auth/AuthConfig.ts"
import { Tokens } from "../../src/auth/Tokens.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"

/** JWT_CLOCK_TOLERANCE_SECONDS: how long past `exp` (and before `nbf`) a token still verifies. */
const SECRET = "a-test-secret-of-at-least-thirty-two-bytes"

const verifyWith = (toleranceSeconds: number, token: string) =>
  Effect.runPromise(
    Effect.flatMap(Tokens, (tokens) => Effect.either(tokens.verify(token))).pipe(
      Effect.provide(Tokens.Default.pipe(Layer.provide(Layer.mergeAll(
        AppConfig.layerWith({}),
        AuthConfig.layerWith({ jwtSecret: Option.some(Redacted.make(SECRET)), jwtClockToleranceSeconds: toleranceSeconds })
      ))))
    )
  )

const signed = (claims: { readonly exp: number; readonly nbf?: number }) => {
  const jwt = new jose.SignJWT({ sid: "s1", email: "a@example.com" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("u1")
    .setIssuer("agent-platform")
    .setAudience("agent-platform-api")
    .setIssuedAt(claims.exp - 60)
    .setExpirationTime(claims.exp)
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

const now = () => Math.floor(Date.now() / 1000)

describe("access tokens and clock skew", () => {
  test("a token expired 2 s ago verifies with the default tolerance of 5 s, not with 0 or 1", async () => {
    const token = await signed({ exp: now() - 2 })
    expect((await verifyWith(5, token))._tag).toBe("Right")
    expect((await verifyWith(1, token))._tag).toBe("Left")
    expect((await verifyWith(0, token))._tag).toBe("Left")
  })

  test("a token not valid for 3 more seconds (nbf) verifies only within the tolerance", async () => {
    const token = await signed({ exp: now() + 600, nbf: now() + 3 })
    expect((await verifyWith(5, token))._tag).toBe("Right")
    expect((await verifyWith(0, token))._tag).toBe("Left")
  })

  test("a token far past its expiry never verifies", async () => {
    const token = await signed({ exp: now() - 3600 })
    expect((await verifyWith(5, token))._tag).toBe("Left")
  })
})
