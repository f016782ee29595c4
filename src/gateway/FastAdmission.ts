import type { Server } from "bun"
import { Effect, Option, Redacted } from "effect"
import { API_KEY_PREFIX } from "../auth/ApiKeys.ts"
import { AuthConfig } from "../auth/AuthConfig.ts"
import { credentialsFromHeaders } from "../auth/Authenticator.ts"
import { Principals } from "../auth/Principals.ts"
import { safeEqual } from "../auth/Secrets.ts"
import { Tokens } from "../auth/Tokens.ts"
import type { Principal } from "../domain/Identity.ts"
import type { Admission } from "../http/FastPath.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { tooManyRefusal } from "./RateLimitMiddleware.ts"

/**
 * Admission for the HTTP fast path (src/http/FastPath.ts): what `Authentication` and the
 * rate-limit middleware decide, from their caches, without an Effect step. A bearer JWT already
 * verified (`Tokens.verifyCached`) whose user and session are cached active (`Principals.cached`)
 * spends a token of its IP's and its caller's bucket of the in-memory limiter (or gets the same
 * 429) and is served as that caller (the handlers' `CurrentUser`). Anything else (no or unknown token, API keys, the service
 * token, Redis-backed limits) returns undefined and the request takes the full path, which
 * answers it and fills the caches.
 */
export const fastAdmission = Effect.gen(function*() {
  const auth = yield* AuthConfig
  const tokens = yield* Tokens
  const principals = yield* Principals
  const limiter = yield* RateLimiter
  const clock = yield* Effect.clock
  const serviceToken = Option.getOrUndefined(Option.map(auth.serviceToken, Redacted.value))
  const ipBucket = { rate: auth.rateLimitIpPerSecond, burst: auth.rateLimitIpBurst }
  const callerBucket = { rate: auth.rateLimitUserPerSecond, burst: auth.rateLimitUserBurst }
  const consumeAt = limiter.consumeAt

  return (request: Request, server: Server<unknown>): Admission<Principal> => {
    const headers = request.headers
    const { token } = credentialsFromHeaders({ authorization: headers.get("authorization") ?? undefined, "x-api-key": headers.get("x-api-key") ?? undefined })
    if (token === undefined || token.length > 8192 || token.startsWith(API_KEY_PREFIX)) return undefined
    if (serviceToken !== undefined && safeEqual(token, serviceToken)) return undefined
    const claims = tokens.verifyCached(token)
    if (claims === undefined) return undefined
    const principal = principals.cached(claims.sub, claims.sid)
    if (principal === undefined) return undefined
    if (auth.rateLimitEnabled) {
      if (consumeAt === undefined) return undefined
      // As RateLimitMiddleware: the IP's bucket, then the caller's; the first refusal is the answer.
      const now = Number(clock.unsafeCurrentTimeNanos()) / 1_000_000
      const byIp = consumeAt(`ip:${clientAddress(request, server, auth.trustProxy)}`, ipBucket, now)
      if (!byIp.allowed) return { _tag: "Refuse", refusal: tooManyRefusal(byIp) }
      const byCaller = consumeAt(`user:${claims.sub}`, callerBucket, now)
      if (!byCaller.allowed) return { _tag: "Refuse", refusal: tooManyRefusal(byCaller) }
    }
    return { _tag: "Serve", caller: principal }
  }
})

/** The same address `clientIp` (src/auth/ClientIp.ts) gives the rate limiter on the full path. */
const clientAddress = (request: Request, server: Server<unknown>, trustProxy: boolean): string => {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",", 1)[0]?.trim()
    if (forwarded) return forwarded
  }
  return server.requestIP(request)?.address ?? "unknown"
}
