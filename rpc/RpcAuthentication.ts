import { RpcMiddleware } from "@effect/rpc"
import { CurrentUser } from "../src/domain/Identity.ts"
import { Schema } from "effect"
import { BadRequest, TooManyRequests, Unauthorized } from "../src/kernel/WireErrors.ts"

/**
 * Every platform RPC runs as its caller: the server authenticates the
 * request's credentials (`Authorization: Bearer`, `x-api-key`, or a
 * WebSocket's `?access_token=`) and provides `CurrentUser`, so the handlers
 * make the same project checks as the REST handlers. Clients need no part of it.
 * It also refuses payloads Postgres cannot store (NUL characters) or nested
 * too deep — the HTTP body guard does not see WebSocket frames — and, over a WebSocket,
 * spends the caller's rate limit per call and bounds the socket's calls in flight
 * (TooManyRequests past either).
 */
export class RpcAuthentication extends RpcMiddleware.Tag<RpcAuthentication>()("Rpc/Authentication", {
  provides: CurrentUser,
  failure: Schema.Union(Unauthorized, BadRequest, TooManyRequests),
  // Wraps the whole call (a stream until it ends): the server counts a socket's calls in flight.
  wrap: true
}) {}
