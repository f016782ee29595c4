import { Effect } from "effect"
import { BackendError } from "../../domain/WorkflowErrors.ts"

export interface HttpCallRequest {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  readonly timeoutMs: number
  readonly maxResponseBytes: number
  readonly allow: ReadonlyArray<string>
}

export interface HttpCallResult {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
}

/** `host`, `*.domain`, `host:port` or `*`; an entry without a port allows any port. */
export const isAllowed = (url: URL, allow: ReadonlyArray<string>): boolean => {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "")
  const port = url.port || (url.protocol === "https:" ? "443" : "80")
  return allow.some((raw) => {
    const entry = raw.trim().toLowerCase()
    if (entry === "*") return true
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!
    const [pattern, entryPort] = [m[1].replace(/^\[|\]$/g, ""), m[2]]
    if (entryPort !== undefined && entryPort !== port) return false
    return pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) : host === pattern
  })
}

const HEADERS_KEPT = ["content-type", "location", "etag", "retry-after"]

/**
 * One HTTP call of an `http` step: allow-listed host, a hard timeout, no
 * redirect following (a redirect could leave the allow-list), bounded body.
 * 5xx, 408, 429 and network failures are retryable; other 4xx are not.
 */
export const httpCall = (req: HttpCallRequest): Effect.Effect<HttpCallResult, BackendError> =>
  Effect.gen(function*() {
    let url: URL
    try {
      url = new URL(req.url)
    } catch {
      return yield* new BackendError({ message: `invalid URL '${req.url}'`, retryable: false })
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* new BackendError({ message: `only http and https URLs are allowed, got ${url.protocol}`, retryable: false })
    }
    if (!isAllowed(url, req.allow)) {
      return yield* new BackendError({
        message: `host ${url.host} is not in the workflow HTTP allow-list (WORKFLOW_HTTP_ALLOW)`,
        retryable: false
      })
    }
    const hasBody = req.body !== undefined && req.body !== null && req.method !== "GET" && req.method !== "HEAD"
    const headers: Record<string, string> = { ...req.headers }
    if (hasBody && typeof req.body !== "string" && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json"
    }
    const target = `${req.method} ${url.origin}${url.pathname}`
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(url, {
          method: req.method,
          headers,
          body: hasBody ? (typeof req.body === "string" ? req.body : JSON.stringify(req.body)) : undefined,
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(req.timeoutMs)])
        }),
      catch: (e) =>
        new BackendError({
          message: e instanceof Error && e.name === "TimeoutError"
            ? `${target} timed out after ${req.timeoutMs} ms`
            : `${target} failed: ${e instanceof Error ? e.message : String(e)}`,
          retryable: true
        })
    })
    const text = yield* Effect.tryPromise({
      try: () => response.text(),
      catch: () => new BackendError({ message: `${target}: reading the response failed`, retryable: true })
    })
    const kept = text.length > req.maxResponseBytes ? text.slice(0, req.maxResponseBytes) : text
    let body: unknown = kept
    if ((response.headers.get("content-type") ?? "").includes("json")) {
      try {
        body = JSON.parse(kept)
      } catch {
        body = kept
      }
    }
    if (response.status >= 400) {
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429
      const detail = typeof body === "string" ? body.slice(0, 200) : JSON.stringify(body).slice(0, 200)
      return yield* new BackendError({ message: `HTTP ${response.status} from ${target}: ${detail}`, retryable })
    }
    const outHeaders: Record<string, string> = {}
    for (const h of HEADERS_KEPT) {
      const v = response.headers.get(h)
      if (v !== null) outHeaders[h] = v
    }
    return { status: response.status, headers: outHeaders, body }
  })
