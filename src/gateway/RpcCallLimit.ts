import { Effect, Layer } from "effect"
import { RpcAuthentication } from "../../rpc/RpcAuthentication.ts"
import { AuthConfig } from "../auth/AuthConfig.ts"
import { credentialsFromHeaders } from "../auth/Authenticator.ts"
import { authenticateCall } from "../auth/RpcCallAuthentication.ts"
import { sha256Hex } from "../auth/Secrets.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { CurrentUser, type Principal } from "../domain/Identity.ts"
import { countedSlots } from "../kernel/CountedSlots.ts"
import { TooManyRequests } from "../kernel/WireErrors.ts"
import { RateLimiter } from "./RateLimiter.ts"

/** The caller's bucket, the one its REST requests spend (RateLimitMiddleware's keys). */
const bucketKey = (principal: Principal, token: string | undefined) =>
  principal.kind === "apiKey" && token !== undefined ? `key:${sha256Hex(token).slice(0, 32)}` : `user:${principal.userId}`

/**
 * RPC authentication with a rate limit per call, which the HTTP edge cannot apply: it counts a
 * WebSocket's (`/rpc/ws`) upgrade request once and none of the calls sent over it, and one
 * `/rpc` request's body may carry many calls (one socket carried 5,000 calls in 1.3 s, one
 * POST 5,000 calls, at the default limits of 500 a second in bursts of 2,000, none refused);
 * and a call may be a stream that runs for hours (`Ticks`, `tasks.subscribe`). Each call spends
 * a token of its caller's bucket, the one its REST requests spend (the edge spends only the
 * address's for `/rpc`), and at most `RPC_MAX_CALLS_PER_SOCKET` run at once on one socket or
 * request; past either it fails with TooManyRequests and the socket stays open. Internal
 * service calls are not limited, as on the HTTP edge.
 */
export const RpcAuthenticationLimited = Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const authenticate = yield* authenticateCall
    const auth = yield* AuthConfig
    const { rpcMaxCallsPerSocket } = yield* AppConfig
    const limiter = yield* RateLimiter
    const bucket = { rate: auth.rateLimitUserPerSecond, burst: auth.rateLimitUserBurst }
    /** Calls in flight per RPC client (a socket, or one `/rpc` request). */
    const inFlight = countedSlots(rpcMaxCallsPerSocket)

    const tooMany = (message: string, retryAfterMs: number) =>
      new TooManyRequests({ message, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) })
    const callsFull = () => tooMany(`at most ${rpcMaxCallsPerSocket} calls in flight on one socket (RPC_MAX_CALLS_PER_SOCKET)`, 1000)

    return RpcAuthentication.of((options) =>
      Effect.flatMap(authenticate(options), (principal) => {
        const next = Effect.provideService(options.next, CurrentUser, principal)
        if (principal.kind === "service") return next
        const limited = !auth.rateLimitEnabled
          ? Effect.void
          : Effect.flatMap(limiter.consume(bucketKey(principal, credentialsFromHeaders(options.headers).token), bucket), (decision) =>
            decision.allowed ? Effect.void : Effect.fail(tooMany("rate limit exceeded", decision.retryAfterMs)))
        return Effect.zipRight(limited, inFlight.holding(String(options.clientId), next, callsFull))
      })
    )
  })
)
