import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Unauthorized } from "../../kernel/WireErrors.ts"
import { CurrentUser } from "../Identity.ts"

/**
 * The one authentication middleware (contract). Groups that need a caller
 * add `.middleware(Authentication)`; the implementation verifies a bearer
 * JWT or API key and provides `CurrentUser`.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Auth/Authentication", {
  failure: Unauthorized,
  provides: CurrentUser,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
