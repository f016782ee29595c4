import { Effect, Option, Redacted, Schema } from "effect"
import * as jose from "jose"
import { AppConfig } from "../config/AppConfig.ts"
import { Unauthorized } from "../kernel/WireErrors.ts"
import { SqlText } from "../kernel/SqlText.ts"
import { AuthConfig } from "./AuthConfig.ts"

/** What the gateway reads out of a verified access token. */
export const AccessClaims = Schema.Struct({
  sub: SqlText.pipe(Schema.minLength(1), Schema.maxLength(200)),
  /** Session (refresh-token family) id: absent on tokens of external issuers. */
  sid: Schema.optional(SqlText.pipe(Schema.maxLength(200))),
  email: Schema.optional(Schema.String),
  exp: Schema.Number
})
export type AccessClaims = typeof AccessClaims.Type

/**
 * One random key per process when JWT_SECRET_KEY is unset, so every gateway
 * layer of a dev process (and its tests) agrees; it dies with the process.
 */
let processSecret: Uint8Array | undefined
const devSecret = () => (processSecret ??= crypto.getRandomValues(new Uint8Array(32)))

const unauthorized = (message = "invalid or expired token") => new Unauthorized({ message })
const decodeClaims = Schema.decodeUnknownOption(AccessClaims)

/**
 * Verified tokens are remembered until they expire (bounded, least recently used evicted):
 * a token's signature is checked once, not on every request.
 */
const CACHE_LIMIT = 20_000

export class Tokens extends Effect.Service<Tokens>()("Auth/Tokens", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const auth = yield* AuthConfig
    const secret = yield* Option.match(auth.jwtSecret, {
      onSome: (s) => Effect.succeed(new TextEncoder().encode(Redacted.value(s))),
      onNone: () =>
        config.clusterMode === "single"
          ? Effect.logWarning(
            "JWT_SECRET_KEY is not set: using a random per-process key; tokens do not survive a restart"
          ).pipe(Effect.as(devSecret()))
          : Effect.dieMessage("JWT_SECRET_KEY is required when CLUSTER_MODE is not single")
    })
    if (secret.length < 32) yield* Effect.logWarning("JWT_SECRET_KEY is shorter than 32 bytes")

    // External issuers (RS256/ES256): a configured public key and/or a JWKS endpoint.
    const publicKey = yield* Option.match(auth.jwtPublicKey, {
      onNone: () => Effect.succeed(undefined),
      onSome: (pem) => Effect.promise(() => jose.importSPKI(pem, "RS256"))
    })
    const jwks = Option.match(auth.jwtJwksUrl, {
      onNone: () => undefined,
      onSome: (url) => jose.createRemoteJWKSet(new URL(url))
    })
    const asymmetric = ["RS256", "PS256", "ES256"]
    const options = { issuer: auth.jwtIssuer, audience: auth.jwtAudience, clockTolerance: auth.jwtClockToleranceSeconds }

    // Least recently used first (a Map keeps insertion order; a hit moves its token to the end).
    const cache = new Map<string, AccessClaims>()

    /**
     * Claims of a token already verified and not yet expired; undefined when it must be (re)verified.
     * Synchronous, so the per-request path (rate limiter, authenticator) takes no Effect step for it.
     */
    const verifyCached = (token: string): AccessClaims | undefined => {
      const hit = cache.get(token)
      if (hit === undefined) return undefined
      cache.delete(token)
      if (hit.exp * 1000 <= Date.now()) return undefined
      cache.set(token, hit)
      return hit
    }

    const verifyUncached = async (token: string): Promise<AccessClaims | undefined> => {
      // The header decides the key; `algorithms` then pins it, so alg=none or an
      // HS256 token signed with the public key never verifies.
      const header = jose.decodeProtectedHeader(token)
      let payload: jose.JWTPayload
      if (header.alg === "HS256") {
        payload = (await jose.jwtVerify(token, secret, { ...options, algorithms: ["HS256"] })).payload
      } else if (header.alg !== undefined && asymmetric.includes(header.alg)) {
        const viaKey = publicKey && header.alg === "RS256"
          ? await jose.jwtVerify(token, publicKey, { ...options, algorithms: ["RS256"] }).catch(() => undefined)
          : undefined
        if (viaKey) payload = viaKey.payload
        else if (jwks) payload = (await jose.jwtVerify(token, jwks, { ...options, algorithms: asymmetric })).payload
        else return undefined
      } else {
        return undefined
      }
      return Option.getOrUndefined(decodeClaims(payload))
    }

    const verify = (token: string): Effect.Effect<AccessClaims, Unauthorized> =>
      Effect.suspend(() => {
        const hit = verifyCached(token)
        if (hit !== undefined) return Effect.succeed(hit)
        // An expired token fails here too (jose checks `exp`), and is not cached again.
        return Effect.tryPromise({ try: () => verifyUncached(token), catch: () => unauthorized() }).pipe(
          Effect.flatMap((claims) => {
            if (claims === undefined) return Effect.fail(unauthorized())
            if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!)
            cache.set(token, claims)
            return Effect.succeed(claims)
          })
        )
      })

    const issue = (user: { readonly id: string; readonly email: string }, sessionId: string) =>
      Effect.promise(() =>
        new jose.SignJWT({ sid: sessionId, email: user.email })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(user.id)
          .setIssuer(auth.jwtIssuer)
          .setAudience(auth.jwtAudience)
          .setIssuedAt()
          .setJti(crypto.randomUUID())
          .setExpirationTime(Math.floor(Date.now() / 1000) + auth.accessTokenTtlSeconds)
          .sign(secret)
      ).pipe(Effect.map((token) => ({ token, expiresIn: auth.accessTokenTtlSeconds })))

    return { verify, verifyCached, issue } as const
  })
}) {}
