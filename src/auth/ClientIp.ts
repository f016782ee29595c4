import { HttpServerRequest } from "@effect/platform"
import { Option } from "effect"

/** The caller's address: the socket's peer, or the first `x-forwarded-for` hop behind a trusted proxy. */
export const clientIp = (request: HttpServerRequest.HttpServerRequest, trustProxy: boolean) => {
  if (trustProxy) {
    const forwarded = request.headers["x-forwarded-for"]?.split(",", 1)[0]?.trim()
    if (forwarded) return forwarded
  }
  return Option.getOrElse(request.remoteAddress, () => "unknown")
}
