import { Headers, HttpLayerRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Either } from "effect"
import { jsonError } from "../kernel/JsonError.ts"
import { Authenticator, credentialsFrom, credentialsFromHeaders } from "./Authenticator.ts"
import { CurrentUser } from "../domain/Identity.ts"

/**
 * The caller of a raw route (WebSocket upgrade, RPC, streaming endpoint):
 * same tokens as the HttpApi middleware, plus `?access_token=` because
 * browsers cannot set headers on a WebSocket handshake.
 */
export const authenticateRequest = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const authenticator = yield* Authenticator
  return yield* authenticator.authenticate(credentialsFrom(request, { allowQuery: true }))
})

/**
 * Route middleware for HttpLayerRouter routes: answers 401 before the
 * handler (so before any WebSocket upgrade) and provides `CurrentUser`.
 * Use: `MyRoutes.pipe(Layer.provide(RequireAuthenticationLive))` (src/gateway/GatewayLive.ts).
 */
export const RequireAuthentication = HttpLayerRouter.middleware<{ provides: CurrentUser }>()(
  Effect.gen(function*() {
    const authenticator = yield* Authenticator
    return (httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const principal = yield* Effect.either(
          authenticator.authenticate(credentialsFrom(request, { allowQuery: true }))
        )
        if (Either.isLeft(principal)) return jsonError(401, "Unauthorized", principal.left.message)
        const withUser = Effect.provideService(httpEffect, CurrentUser, principal.right)
        // A WebSocket's query-string token becomes a header, so handlers that only see the
        // request headers (RPC) authenticate the same caller. Upgrades only: a request with a
        // body must keep its own instance (the body may already be read and cached on it).
        const header = credentialsFromHeaders(request.headers).token
        const query = credentialsFrom(request, { allowQuery: true }).token
        if (header !== undefined || query === undefined || request.method !== "GET") return yield* withUser
        const normalised = request.modify({ headers: Headers.set(request.headers, "authorization", `Bearer ${query}`) })
        return yield* Effect.provideService(withUser, HttpServerRequest.HttpServerRequest, normalised)
      })
  })
)
