import type { Headers } from "@effect/platform"
import { Effect } from "effect"
import { bodyProblemMessage, valueProblem } from "../kernel/JsonText.ts"
import { BadRequest, type Unauthorized } from "../kernel/WireErrors.ts"
import type { Principal } from "../domain/Identity.ts"
import { Authenticator, credentialsFromHeaders } from "./Authenticator.ts"

/**
 * RPC handlers run in the RPC server's fibers, not the HTTP request's, so the
 * route middleware's `CurrentUser` does not reach them: each call is
 * authenticated again from the request headers the server hands over (a
 * WebSocket's `?access_token=` was already turned into `authorization` by
 * RequireAuthentication). The Authenticator caches principals, so this is cheap.
 * The RpcAuthentication middleware (src/gateway/RpcCallLimit.ts) runs it for every call.
 */
export const authenticateCall = Effect.gen(function*() {
  const authenticator = yield* Authenticator
  return ({ headers, payload }: { readonly headers: Headers.Headers; readonly payload: unknown }): Effect.Effect<Principal, Unauthorized | BadRequest> => {
    const problem = valueProblem(payload)
    return problem === undefined
      ? authenticator.authenticate(credentialsFromHeaders(headers))
      : Effect.fail(new BadRequest({ message: bodyProblemMessage(problem, "the call's payload") }))
  }
})
