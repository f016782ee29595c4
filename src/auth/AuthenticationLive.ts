import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Authentication } from "../domain/api/Authentication.ts"
import { Authenticator, credentialsFrom } from "./Authenticator.ts"

/**
 * The `Authentication` middleware: reads the request's own headers rather
 * than only the decoded bearer, so `x-api-key` works on every group too.
 */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const authenticator = yield* Authenticator
    return Authentication.of({
      bearer: () =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          authenticator.authenticate(credentialsFrom(request)))
    })
  })
)
