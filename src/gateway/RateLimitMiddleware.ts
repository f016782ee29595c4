import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
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

const tooMany = (decision: Decision) => {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
  return HttpServerResponse.setHeader(
    jsonError(429, "TooManyRequests", "rate limit exceeded", { retryAfterSeconds: seconds }),
    "retry-after",
    String(seconds)
  )
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

    /** The caller's bucket key; undefined for anonymous or invalid credentials (the IP bucket covers those). */
    const callerKey = (token: string | undefined): Effect.Effect<string | undefined> => {
      if (token === undefined || token.length > 8192) return Effect.succeed(undefined)
      if (token.startsWith(API_KEY_PREFIX)) return Effect.succeed(`key:${sha256Hex(token).slice(0, 32)}`)
      return tokens.verify(token).pipe(
        Effect.map((claims) => `user:${claims.sub}`),
        Effect.orElseSucceed(() => undefined)
      )
    }

    return (httpEffect) => {
      if (!auth.rateLimitEnabled) return httpEffect
      return Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (request.method === "OPTIONS" || EXEMPT.has(request.url.split("?", 1)[0])) return yield* httpEffect
        const { token } = credentialsFrom(request, { allowQuery: true })
        // Internal calls (runner ↔ gateway) are trusted and bursty by nature.
        if (serviceToken !== undefined && token !== undefined && safeEqual(token, serviceToken)) {
          return yield* httpEffect
        }
        const byIp = yield* limiter.consume(`ip:${clientIp(request, auth.trustProxy)}`, ipBucket)
        if (!byIp.allowed) return tooMany(byIp)
        const caller = yield* callerKey(token)
        if (caller !== undefined) {
          const byCaller = yield* limiter.consume(caller, callerBucket)
          if (!byCaller.allowed) return tooMany(byCaller)
        }
        return yield* httpEffect
      })
    }
  }),
  { global: true }
)
