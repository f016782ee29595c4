import { HttpLayerRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Either } from "effect"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { countedSlots } from "../kernel/CountedSlots.ts"
import { jsonError } from "../kernel/JsonError.ts"

/**
 * RPC WebSockets (`/rpc/ws`) a caller holds open on this node, at most `WS_MAX_SOCKETS_PER_USER`
 * like `/ws/chat` and `/ws/events`: more are answered 429 before the upgrade. The RPC server's
 * socket handling runs inside the route's handler for as long as the socket is open, so the
 * slot is held until it closes. (Its calls are limited per call: src/gateway/RpcCallLimit.ts.)
 */
export const RpcSocketSlots = HttpLayerRouter.middleware()(
  Effect.gen(function*() {
    const { wsMaxSocketsPerUser: max } = yield* AppConfig
    const authenticator = yield* Authenticator
    const open = countedSlots(max)
    return (httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (request.headers.upgrade?.toLowerCase() !== "websocket") return yield* httpEffect
        // Cached by the Authenticator: RequireAuthentication reads the same principal (and answers 401 without one).
        const principal = yield* Effect.either(authenticator.authenticate(credentialsFrom(request, { allowQuery: true })))
        if (Either.isLeft(principal)) return yield* httpEffect
        const release = open.take(`${principal.right.kind}:${principal.right.userId}`)
        if (release === undefined) {
          return jsonError(429, "TooManyRequests", `at most ${max} RPC sockets per caller (WS_MAX_SOCKETS_PER_USER)`, { retryAfterSeconds: 1 })
        }
        return yield* Effect.ensuring(httpEffect, Effect.sync(release))
      })
  })
)
