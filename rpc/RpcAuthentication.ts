import { RpcMiddleware } from "@effect/rpc"
import { CurrentUser } from "../src/domain/Identity.ts"
import { Schema } from "effect"
import { BadRequest, Unauthorized } from "../src/kernel/WireErrors.ts"

/**
 * Every platform RPC runs as its caller: the server authenticates the
 * request's credentials (`Authorization: Bearer`, `x-api-key`, or a
 * WebSocket's `?access_token=`) and provides `CurrentUser`, so the handlers
 * make the same project checks as the REST handlers. Clients need no part of it.
 * It also refuses payloads Postgres cannot store (NUL characters) or nested
 * too deep — the HTTP body guard does not see WebSocket frames.
 */
export class RpcAuthentication extends RpcMiddleware.Tag<RpcAuthentication>()("Rpc/Authentication", {
  provides: CurrentUser,
  failure: Schema.Union(Unauthorized, BadRequest)
}) {}
