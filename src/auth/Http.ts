import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { NotFound, TooManyRequests, Unauthorized } from "../kernel/WireErrors.ts"
import { CurrentUser, type Principal } from "../domain/Identity.ts"
import { AuthConfig } from "./AuthConfig.ts"
import { clientIp } from "./ClientIp.ts"
import { accountKey, ipKey, LoginThrottle, type ThrottlePolicy } from "./LoginThrottle.ts"
import { Passwords } from "./Passwords.ts"
import { requireOperator } from "./ProjectAccess.ts"
import { Principals } from "./Principals.ts"
import { SessionRepo } from "./SessionRepo.ts"
import { Tokens } from "./Tokens.ts"
import { UserRepo } from "./UserRepo.ts"

/** GET /auth/me: the caller, as a plain function (the HTTP fast path answers with it, src/app/Server.ts). */
export const meAnswer = (user: Principal) => ({
  id: user.userId,
  email: user.email,
  displayName: user.displayName ?? null,
  kind: user.kind,
  operator: user.operator,
  projects: Array.from(user.projects, ([projectId, role]) => ({ projectId, role }))
})

const meHandler = Effect.map(CurrentUser, meAnswer)

const badCredentials = new Unauthorized({ message: "invalid email or password" })

export const AuthHttpLive = HttpApiBuilder.group(PlatformApi, "auth", (handlers) =>
  Effect.gen(function*() {
    const users = yield* UserRepo
    const sessions = yield* SessionRepo
    const passwords = yield* Passwords
    const tokens = yield* Tokens
    const principals = yield* Principals
    const auth = yield* AuthConfig
    const throttle = yield* LoginThrottle
    const policy = (maxFailures: number): ThrottlePolicy => ({
      maxFailures,
      windowMs: auth.loginFailureWindowSeconds * 1000,
      baseLockMs: auth.loginLockoutBaseSeconds * 1000,
      maxLockMs: auth.loginLockoutMaxSeconds * 1000
    })
    const accountPolicy = policy(auth.loginMaxFailuresPerAccount)
    const ipPolicy = policy(auth.loginMaxFailuresPerIp)

    const tokenPair = (user: { id: string; email: string; displayName: string | null }, sessionId: string, refreshToken: string) =>
      Effect.map(tokens.issue(user, sessionId), ({ expiresIn, token }) => ({
        accessToken: token,
        refreshToken,
        tokenType: "Bearer" as const,
        expiresIn,
        user: { id: user.id, email: user.email, displayName: user.displayName }
      }))

    return handlers
      .handle("register", ({ payload }) =>
        Effect.gen(function*() {
          const passwordHash = yield* passwords.hash(payload.password)
          const user = yield* users.register({
            email: payload.email.trim().toLowerCase(),
            passwordHash,
            displayName: payload.displayName ?? null
          })
          const session = yield* sessions.create(user.id)
          const pair = yield* tokenPair(user, session.sessionId, session.refreshToken)
          return { ...pair, projectId: user.projectId }
        }))
      .handle("login", ({ payload }) =>
        Effect.gen(function*() {
          const email = payload.email.trim().toLowerCase()
          const request = yield* HttpServerRequest.HttpServerRequest
          // Unknown emails are throttled alike: a lock must not tell which accounts exist.
          const account = accountKey(email)
          const ip = ipKey(clientIp(request, auth.trustProxy))
          const tooMany = (waitMs: number) =>
            Effect.fail(
              new TooManyRequests({ message: "too many failed logins, try again later", retryAfterSeconds: Math.ceil(waitMs / 1000) })
            )
          // Each attempt is counted before the (slow) password check: concurrent guesses see the lock.
          const ipWait = yield* throttle.attempt(ip, ipPolicy)
          if (ipWait > 0) return yield* tooMany(ipWait)
          const accountWait = yield* throttle.attempt(account, accountPolicy)
          if (accountWait > 0) {
            yield* throttle.refund(ip, ipPolicy)
            return yield* tooMany(accountWait)
          }
          const found = yield* users.findByEmail(email)
          const user = Option.getOrUndefined(found)
          const ok = yield* passwords.verify(payload.password, user?.passwordHash)
          if (!ok || user === undefined || user.disabled) return yield* Effect.fail(badCredentials)
          yield* throttle.clear(account)
          yield* throttle.refund(ip, ipPolicy)
          const session = yield* sessions.create(user.id)
          return yield* tokenPair(user, session.sessionId, session.refreshToken)
        }))
      .handle("refresh", ({ payload }) =>
        Effect.gen(function*() {
          const result = yield* sessions.rotate(payload.refreshToken)
          if (result._tag === "Reused") {
            yield* principals.invalidateUser(result.userId)
            yield* Effect.logWarning("refresh token reuse: session revoked").pipe(
              Effect.annotateLogs({ userId: result.userId, sessionId: result.sessionId })
            )
          }
          if (result._tag !== "Rotated") {
            return yield* Effect.fail(new Unauthorized({ message: "invalid refresh token" }))
          }
          const principal = yield* principals.load(result.userId, result.sessionId)
          if (Option.isNone(principal)) return yield* Effect.fail(new Unauthorized({ message: "invalid refresh token" }))
          const { displayName, email, userId } = principal.value
          return yield* tokenPair({ id: userId, email, displayName: displayName ?? null }, result.sessionId, result.refreshToken)
        }))
      .handle("me", () => meHandler)
      .handle("logout", () =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          if (user.sessionId !== undefined) {
            yield* sessions.revoke(user.sessionId, "logout")
            yield* principals.invalidateUser(user.userId)
          }
        }))
      .handle("setOperator", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireOperator("promoting an operator")
          const email = payload.email.trim().toLowerCase()
          const updated = yield* users.setOperator(email, payload.operator)
          if (Option.isNone(updated)) return yield* Effect.fail(new NotFound({ message: "user not found" }))
          yield* principals.invalidateUser(updated.value.id)
          yield* Effect.logInfo("platform operator changed").pipe(
            Effect.annotateLogs({ userId: updated.value.id, operator: payload.operator })
          )
          // A configured operator stays one whatever the stored flag says.
          return { ...updated.value, operator: updated.value.operator || auth.platformOperators.includes(email) }
        }))
  }))
