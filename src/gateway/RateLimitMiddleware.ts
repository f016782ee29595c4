import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Context, Effect, Option, Redacted } from "effect"
import { credentialsFrom } from "../auth/Authenticator.ts"
import { clientIp } from "../auth/ClientIp.ts"
import { safeEqual, sha256Hex } from "../auth/Secrets.ts"
import { Tokens } from "../auth/Tokens.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { API_KEY_PREFIX } from "../auth/ApiKeys.ts"
import { type Decision, RateLimiter } from "./RateLimiter.ts"
import { AuthConfig } from "../auth/AuthConfig.ts"

/** Probes and scrapes are never limited: a limited health check would take a busy node out. */
const EXEMPT = new Set(["/health", "/metrics"])
/**
 * RPC over HTTP: a request's body may carry many calls, and each call spends the caller's
 * bucket itself (src/gateway/RpcCallLimit.ts), so here only the address's bucket is spent.
 */
const PER_CALL = new Set(["/rpc"])

const retryAfterSeconds = (decision: Decision) => Math.max(1, Math.ceil(decision.retryAfterMs / 1000))

const tooMany = (decision: Decision) => {
  const seconds = retryAfterSeconds(decision)
  return HttpServerResponse.setHeader(
    jsonError(429, "TooManyRequests", "rate limit exceeded", { retryAfterSeconds: seconds }),
    "retry-after",
    String(seconds)
  )
}

/** The same 429 as plain data, for the HTTP fast path (src/gateway/FastAdmission.ts). */
export const tooManyRefusal = (decision: Decision) => {
  const seconds = retryAfterSeconds(decision)
  return {
    status: 429,
    body: JSON.stringify({ _tag: "TooManyRequests", message: "rate limit exceeded", retryAfterSeconds: seconds }),
    headers: { "retry-after": String(seconds) }
  }
}

/**
 * Every request spends a token of its client IP's bucket, and an
 * authenticated one also of its caller's bucket (user id of a valid JWT, or
 * the API key): one noisy user cannot starve their office, one address
 * cannot spray tokens. Runs before routing, so floods never reach handlers.
 */
export const RateLimitMiddleware = HttpLayerRouter.middleware(
  Effect.gen(function*() {
    const auth = yield* AuthConfig
    const limiter = yield* RateLimiter
    const tokens = yield* Tokens
    const serviceToken = Option.getOrUndefined(Option.map(auth.serviceToken, Redacted.value))
    const ipBucket = { rate: auth.rateLimitIpPerSecond, burst: auth.rateLimitIpBurst }
    const callerBucket = { rate: auth.rateLimitUserPerSecond, burst: auth.rateLimitUserBurst }

    /**
     * The caller's bucket key; undefined for anonymous or invalid credentials (the IP bucket
     * covers those). A JWT already verified (and unexpired) is read from the token cache
     * without an Effect step; the authenticator reads the same cache, so a token's signature
     * is verified once, not once here and once there.
     */
    const knownCallerKey = (token: string | undefined): string | undefined | null => {
      if (token === undefined || token.length > 8192) return undefined
      if (token.startsWith(API_KEY_PREFIX)) return `key:${sha256Hex(token).slice(0, 32)}`
      const claims = tokens.verifyCached(token)
      return claims === undefined ? null : `user:${claims.sub}`
    }
    const verifiedCallerKey = (token: string): Effect.Effect<string | undefined> =>
      tokens.verify(token).pipe(
        Effect.map((claims) => `user:${claims.sub}`),
        Effect.orElseSucceed(() => undefined)
      )

    return (httpEffect) => {
      if (!auth.rateLimitEnabled) return httpEffect
      const consumeCaller = (caller: string | undefined) =>
        caller === undefined
          ? httpEffect
          : Effect.flatMap(limiter.consume(caller, callerBucket), (byCaller) => byCaller.allowed ? httpEffect : Effect.succeed(tooMany(byCaller)))
      return Effect.withFiberRuntime<
        Effect.Effect.Success<typeof httpEffect>,
        Effect.Effect.Error<typeof httpEffect>,
        Effect.Effect.Context<typeof httpEffect>
      >((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        if (request.method === "OPTIONS" || EXEMPT.has(request.url.split("?", 1)[0])) return httpEffect
        const { token } = credentialsFrom(request, { allowQuery: true })
        // Internal calls (runner ↔ gateway) are trusted and bursty by nature.
        if (serviceToken !== undefined && token !== undefined && safeEqual(token, serviceToken)) return httpEffect
        const ipKey = `ip:${clientIp(request, auth.trustProxy)}`
        const known = PER_CALL.has(request.url.split("?", 1)[0]) ? undefined : knownCallerKey(token)
        const consumeAt = limiter.consumeAt
        if (consumeAt !== undefined && known !== null) {
          // The common case: in-memory buckets and a known (or no) caller, decided without an Effect step.
          const now = Number(Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeNanos()) / 1_000_000
          const byIp = consumeAt(ipKey, ipBucket, now)
          if (!byIp.allowed) return Effect.succeed(tooMany(byIp))
          if (known === undefined) return httpEffect
          const byCaller = consumeAt(known, callerBucket, now)
          return byCaller.allowed ? httpEffect : Effect.succeed(tooMany(byCaller))
        }
        return Effect.flatMap(limiter.consume(ipKey, ipBucket), (byIp) =>
          !byIp.allowed
            ? Effect.succeed(tooMany(byIp))
            : known === null
            ? Effect.flatMap(verifiedCallerKey(token!), consumeCaller)
            : consumeCaller(known))
      })
    }
  }),
  { global: true }
)
