/** The platform's CORS settings: one definition for the router's middleware and the HTTP fast path. */
export interface CorsOptions {
  readonly allowedOrigins: ReadonlyArray<string>
  readonly allowedHeaders: ReadonlyArray<string>
  readonly exposedHeaders: ReadonlyArray<string>
  readonly credentials: boolean
  readonly maxAge: number
}

export const corsOptions = (origins: ReadonlyArray<string>): CorsOptions => ({
  allowedOrigins: origins.includes("*") ? ["*"] : origins,
  allowedHeaders: ["authorization", "content-type", "x-request-id", "a2a-version", "mcp-session-id", "x-api-key"],
  exposedHeaders: ["x-request-id", "retry-after", "mcp-session-id"],
  credentials: !origins.includes("*"),
  maxAge: 600
})

/**
 * The headers `HttpMiddleware.cors` of @effect/platform adds to a response that is not a
 * preflight, as a plain function of the request's `Origin` (same rules: one configured origin is
 * always sent, several only when the request's origin is one of them), for responses answered
 * without the router. `fixed`: headers every such response carries besides (the security headers),
 * merged once here rather than per response.
 */
export const simpleCorsHeaders = (
  options: CorsOptions,
  fixed: Readonly<Record<string, string>> = {}
): (origin: string | null) => Record<string, string> => {
  const common: Record<string, string> = {
    ...fixed,
    ...(options.credentials ? { "access-control-allow-credentials": "true" } : {}),
    ...(options.exposedHeaders.length > 0 ? { "access-control-expose-headers": options.exposedHeaders.join(",") } : {})
  }
  const origins = options.allowedOrigins
  if (origins.length === 0) {
    const always = { "access-control-allow-origin": "*", ...common }
    return () => always
  }
  if (origins.length === 1) {
    const always = { "access-control-allow-origin": origins[0], vary: "Origin", ...common }
    return () => always
  }
  return (origin) =>
    origin !== null && origins.includes(origin)
      ? { "access-control-allow-origin": origin, vary: "Origin", ...common }
      : common
}
