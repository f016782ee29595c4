import { Effect, Option } from "effect"
import { BackendError } from "../../domain/WorkflowErrors.ts"
import { EGRESS_REFUSED, EgressDenied, EgressPolicy } from "../../net/EgressPolicy.ts"
import { hostAllowList } from "../../net/HostAllowList.ts"
import { readCapped } from "../../net/ReadCapped.ts"

export interface HttpCallRequest {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  readonly timeoutMs: number
  readonly maxResponseBytes: number
  readonly allow: ReadonlyArray<string>
  /** The project the step runs for: its share of outbound requests in flight (EgressSlots.ts). */
  readonly projectId: string
}

export interface HttpCallResult {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
}

/** The egress policy's one text: it never tells a refused destination from a closed port. */
const refused = (url: URL, retryable: boolean) =>
  new BackendError({ message: `${url.origin}: ${EGRESS_REFUSED}`, retryable })

const HEADERS_KEPT = ["content-type", "location", "etag", "retry-after"]

/**
 * One HTTP call of an `http` step: allow-listed host, the egress policy
 * (checked, pinned address), a hard timeout, no redirect following (a
 * redirect could leave the allow-list), bounded body.
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
    if (!hostAllowList(req.allow)(url)) {
      return yield* new BackendError({
        message: `host ${url.host} is not in the workflow HTTP allow-list (WORKFLOW_HTTP_ALLOW)`,
        retryable: false
      })
    }
    // Looked up rather than required: the step runs in the workflow engine's context, which the
    // platform gives the policy; without one the step is refused, never sent unchecked.
    const egress = yield* Effect.flatMap(Effect.serviceOption(EgressPolicy), (found) =>
      Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(refused(url, false)))
    const hasBody = req.body !== undefined && req.body !== null && req.method !== "GET" && req.method !== "HEAD"
    const headers: Record<string, string> = { ...req.headers }
    if (hasBody && typeof req.body !== "string" && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json"
    }
    const target = `${req.method} ${url.origin}${url.pathname}`
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        egress.fetchWith(url, {
          method: req.method,
          headers,
          body: hasBody ? (typeof req.body === "string" ? req.body : JSON.stringify(req.body)) : undefined,
          // Not followed: a 3xx is the step's result (and a redirect could not leave the policy anyway).
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(req.timeoutMs)])
        }, { tenant: req.projectId }),
      // A refused destination is final; a failed connection to an admitted one may be retried.
      catch: (e) =>
        e instanceof Error && e.name === "TimeoutError"
          ? new BackendError({ message: `${target} timed out after ${req.timeoutMs} ms`, retryable: true })
          : refused(url, !(e instanceof EgressDenied) || e.unreachable === true)
    })
    // Read up to the byte limit only (the rest is cancelled), not the whole body and then cut.
    const { text: kept } = yield* Effect.tryPromise({
      try: () => readCapped(response, req.maxResponseBytes),
      catch: () => new BackendError({ message: `${target}: reading the response failed`, retryable: true })
    })
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
