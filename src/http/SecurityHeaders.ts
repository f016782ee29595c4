import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

/**
 * Headers every API answer carries (OWASP Secure Headers for APIs): no MIME sniffing, never
 * framed, no referrer, not stored by caches (bodies carry tokens and tenant data), and a content
 * policy that lets a JSON body run nothing if a browser renders it. Set only where the route did
 * not set its own: the console and the docs pages send their own cache and content policies.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

/** For bodies that are data, not pages: nothing may load or run, nothing may frame it. */
export const DATA_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'"

/** HSTS for a deployment whose public address is https (the header means nothing over http). */
export const hstsHeader = (publicBaseUrl: string | undefined): Record<string, string> =>
  publicBaseUrl?.startsWith("https://") ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}

const isPage = (contentType: string | undefined) => contentType !== undefined && contentType.startsWith("text/html")

/** The fixed headers of a response answered outside the router (the HTTP fast path answers JSON). */
export const fixedSecurityHeaders = (publicBaseUrl: string | undefined): Readonly<Record<string, string>> => ({
  ...API_SECURITY_HEADERS,
  "content-security-policy": DATA_CONTENT_POLICY,
  ...hstsHeader(publicBaseUrl)
})

/** Adds what `response` lacks; an HTML page keeps its own content policy (or none: the docs page runs inline scripts). */
export const withSecurityHeaders = (
  response: HttpServerResponse.HttpServerResponse,
  extra: Readonly<Record<string, string>>
): HttpServerResponse.HttpServerResponse => {
  const present = response.headers
  const missing: Record<string, string> = {}
  for (const name in API_SECURITY_HEADERS) if (present[name] === undefined) missing[name] = API_SECURITY_HEADERS[name]!
  for (const name in extra) if (present[name] === undefined) missing[name] = extra[name]!
  if (present["content-security-policy"] === undefined && !isPage(response.body.contentType)) {
    missing["content-security-policy"] = DATA_CONTENT_POLICY
  }
  return HttpServerResponse.setHeaders(response, missing)
}

/**
 * The router's outermost middleware: every answer of the full path gets the headers, the rate
 * limiter's 429 and CORS preflights included (they are answered before the request middleware).
 */
export const securityHeadersMiddleware = (publicBaseUrl: string | undefined) => {
  const hsts = hstsHeader(publicBaseUrl)
  return HttpLayerRouter.middleware((app) => Effect.map(app, (response) => withSecurityHeaders(response, hsts)), { global: true })
}
