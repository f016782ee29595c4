import type { HttpServerRequest } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { API_KEY_PREFIX, ApiKeys } from "./ApiKeys.ts"
import { Unauthorized } from "../kernel/WireErrors.ts"
import type { Principal } from "../domain/Identity.ts"
import { Principals } from "./Principals.ts"
import { safeEqual } from "./Secrets.ts"
import { Tokens } from "./Tokens.ts"
import { AuthConfig } from "./AuthConfig.ts"

export interface Credentials {
  /** A JWT, an API key or the service token. */
  readonly token: string | undefined
  /** Service calls act for this user (header `x-on-behalf-of`). */
  readonly onBehalfOf: string | undefined
}

const BEARER = /^bearer\s+(\S+)\s*$/i

/**
 * Credentials of a request: `Authorization: Bearer`, else `x-api-key`, else
 * (only where `allowQuery`, i.e. WebSocket upgrades, which browsers cannot
 * give headers) `?access_token=`.
 */
export const credentialsFrom = (
  request: HttpServerRequest.HttpServerRequest,
  options: { readonly allowQuery?: boolean } = {}
): Credentials => {
  const fromHeaders = credentialsFromHeaders(request.headers)
  if (fromHeaders.token !== undefined || !options.allowQuery) return fromHeaders
  const query = request.url.indexOf("?")
  const token = query >= 0 ? new URLSearchParams(request.url.slice(query + 1)).get("access_token") ?? undefined : undefined
  return { token: token || undefined, onBehalfOf: fromHeaders.onBehalfOf }
}

/** Credentials from headers alone (what an RPC handler is given): `Authorization: Bearer`, else `x-api-key`. */
export const credentialsFromHeaders = (headers: Readonly<Record<string, string | undefined>>): Credentials => {
  const bearer = BEARER.exec(headers.authorization ?? "")?.[1]
  const token = bearer ?? headers["x-api-key"]
  return { token: token || undefined, onBehalfOf: headers["x-on-behalf-of"] }
}

const denied = (message: string) => Effect.fail(new Unauthorized({ message }))

/**
 * Turns credentials into a `Principal`: the one place every transport (HTTP
 * middleware, WebSocket upgrades, RPC) authenticates.
 */
export class Authenticator extends Effect.Service<Authenticator>()("Auth/Authenticator", {
  effect: Effect.gen(function*() {
    const auth = yield* AuthConfig
    const tokens = yield* Tokens
    const principals = yield* Principals
    const apiKeys = yield* ApiKeys
    const serviceToken = Option.map(auth.serviceToken, Redacted.value)

    const authenticate = (credentials: Credentials): Effect.Effect<Principal, Unauthorized> =>
      Effect.suspend(() => {
        const token = credentials.token
        if (token === undefined || token.length > 8192) return denied("missing or malformed credentials")
        if (token.startsWith(API_KEY_PREFIX)) {
          return Effect.flatMap(apiKeys.resolve(token), Option.match({
            onNone: () => denied("invalid API key"),
            onSome: Effect.succeed
          }))
        }
        if (Option.isSome(serviceToken) && safeEqual(token, serviceToken.value)) {
          return service(credentials.onBehalfOf)
        }
        return Effect.flatMap(tokens.verify(token), (claims) =>
          Effect.flatMap(principals.load(claims.sub, claims.sid), Option.match({
            onNone: () => denied("session revoked or user disabled"),
            onSome: Effect.succeed
          })))
      })

    const service = (onBehalfOf: string | undefined): Effect.Effect<Principal, Unauthorized> =>
      onBehalfOf === undefined
        ? Effect.succeed({ kind: "service", userId: "service", email: "service@internal", operator: false, projects: new Map() })
        : Effect.flatMap(principals.load(onBehalfOf, undefined), Option.match({
          onNone: () => denied("unknown user in x-on-behalf-of"),
          onSome: (p) => Effect.succeed({ ...p, kind: "service" as const, sessionId: undefined })
        }))

    return { authenticate } as const
  }),
  dependencies: [Tokens.Default, Principals.Default, ApiKeys.Default]
}) {}
