import { Layer } from "effect"
import { AuthenticationLive } from "../auth/AuthenticationLive.ts"
import { Authenticator } from "../auth/Authenticator.ts"
import { AuthHttpLive } from "../auth/Http.ts"
import { LoginThrottle } from "../auth/LoginThrottle.ts"
import { Passwords } from "../auth/Passwords.ts"
import { Principals } from "../auth/Principals.ts"
import { RequireAuthentication } from "../auth/RequireAuthentication.ts"
import { SessionRepo } from "../auth/SessionRepo.ts"
import { Tokens } from "../auth/Tokens.ts"
import { UserRepo } from "../auth/UserRepo.ts"
import { ApiKeys } from "../auth/ApiKeys.ts"
import { ProjectsHttpLive } from "../gateway/Http.ts"
import { ProjectRepo } from "../gateway/ProjectRepo.ts"
import { RateLimiter } from "../gateway/RateLimiter.ts"
import { RateLimitMiddleware } from "../gateway/RateLimitMiddleware.ts"

/**
 * One instance of each gateway service per process: the middleware, the
 * handlers and the rate limiter must share the caches that logout and
 * membership changes invalidate. Needs `AppConfig` and a `SqlClient`.
 */
export const GatewayServicesLive = Authenticator.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      Tokens.Default,
      Principals.Default,
      ApiKeys.Default,
      Passwords.Default,
      SessionRepo.Default,
      UserRepo.Default,
      ProjectRepo.Default
    )
  )
)

/** The `Authentication` middleware every authenticated HttpApi group needs. */
export const AuthenticationLayer = AuthenticationLive.pipe(Layer.provide(GatewayServicesLive))

/** Handlers of the `auth` and `projects` groups. */
export const GatewayHttpLive = Layer.mergeAll(AuthHttpLive, ProjectsHttpLive).pipe(
  Layer.provide(GatewayServicesLive),
  Layer.provide(LoginThrottle.layer)
)

/** Global token-bucket limits per IP and per caller (in Redis when configured). */
export const RateLimitLive = RateLimitMiddleware.pipe(
  Layer.provide(RateLimiter.layer),
  Layer.provide(GatewayServicesLive)
)

/** For HttpLayerRouter routes (WebSocket, RPC): 401 before the handler, `CurrentUser` inside it. */
export const RequireAuthenticationLive = RequireAuthentication.layer.pipe(Layer.provide(GatewayServicesLive))
