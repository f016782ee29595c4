import {
  FileSystem,
  HttpIncomingMessage,
  HttpLayerRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
  Multipart
} from "@effect/platform"
import { Cause, Clock, Context, DefaultServices, Effect, FiberRef, LogLevel, Option, Tracer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { AccessLine, AccessLog } from "./AccessLog.ts"
import { isDatabaseUnavailable } from "../kernel/DatabaseUnavailable.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { type BodyProblem, bodyProblemMessage, JSON_SCAN_START, type JsonScan, scanJsonText } from "../kernel/JsonText.ts"

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** What the body guard needs to know about the routes (filled by src/app from the route table). */
export interface BodyRules {
  /** Routes whose payload is a multipart form; a multipart body anywhere else answers 415. */
  readonly acceptsMultipart: (method: string, path: string) => boolean
  /** Routes whose handler reads the raw body stream itself (it must not be read here first). */
  readonly rawBodyPaths: ReadonlyArray<string>
}

/**
 * Every request: a request id (taken from `x-request-id` when sane, else new)
 * on the response and on every log line of the request; the body size limit;
 * the body guard (NUL characters, nesting depth, content type: 400/415 before
 * any handler); concise 400 bodies for schema decode failures; a JSON 500 for
 * defects (logged with their cause, never sent); one structured access-log
 * line (through `accessLog` where it serves the fiber's loggers, as the HTTP fast path writes
 * it; else a log call). Query strings are not logged: they may carry tokens.
 */
export const requestContextMiddleware = (rules: BodyRules, accessLog?: AccessLog) => HttpLayerRouter.middleware(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const maxBody = Option.some(FileSystem.Size(config.maxBodyBytes))
    // One fiber-runtime step for the request's own work instead of a generator per request:
    // at the INFO default this middleware is on every request's path.
    return (httpEffect) =>
      Effect.withFiberRuntime<
        HttpServerResponse.HttpServerResponse,
        Effect.Effect.Error<typeof httpEffect>,
        Effect.Effect.Context<typeof httpEffect>
      >((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const header = request.headers["x-request-id"]
        const requestId = header && REQUEST_ID.test(header) ? header : crypto.randomUUID()
        const started = performance.now()
        // Ties the server span (GET /observability/traces) to the request id clients and logs see.
        const span = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
        if (span._tag === "Some" && span.value._tag === "Span") span.value.attribute("request.id", requestId)
        const early = rejectEarly(request)
        type Handled = Effect.Effect<
          HttpServerResponse.HttpServerResponse,
          Effect.Effect.Error<typeof httpEffect>,
          Effect.Effect.Context<typeof httpEffect>
        >
        const handled: Handled = early
          ? Effect.succeed(jsonError(400, "BadRequest", early, { requestId }))
          : declaredLength(request) > config.maxBodyBytes
          ? Effect.succeed(tooLarge(config.maxBodyBytes, requestId))
          : Effect.flatMap(checkBody(request, rules, config.maxBodyBytes), (rejected): Handled =>
            rejected
              ? Effect.succeed(jsonError(rejected.status, rejected.tag, rejected.message, { requestId }))
              : Effect.map(httpEffect, (response) => retryAfterHeader(conciseDecodeError(response))))
        return handled.pipe(
          HttpIncomingMessage.withMaxBodySize(maxBody),
          Effect.catchAllDefect((defect) =>
            // A body that is not valid JSON surfaces as a RequestError defect from the decoder.
            HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"
              ? Effect.succeed(jsonError(400, "BadRequest", "request body is not valid JSON", { requestId }))
              // A multipart content-type on a JSON endpoint, or a broken/oversized form, is the client's error.
              : defect instanceof Multipart.MultipartError && defect.reason !== "InternalError"
              ? Effect.succeed(
                defect.reason === "Parse"
                  ? jsonError(400, "BadRequest", "request body is not valid multipart form data", { requestId })
                  : jsonError(413, "PayloadTooLarge", `multipart body rejected: ${defect.reason}`, { requestId })
              )
              // PostgreSQL down or restarting is not a bug: 503 fast, and the pool reconnects by itself.
              : isDatabaseUnavailable(defect)
              ? Effect.logWarning("database unavailable").pipe(
                Effect.as(HttpServerResponse.setHeader(
                  jsonError(503, "ServiceUnavailable", "database unavailable, retry later", { requestId }),
                  "retry-after",
                  "1"
                ))
              )
              : Effect.logError("unhandled defect", Cause.die(defect)).pipe(
                Effect.as(jsonError(500, "InternalError", "internal server error", { requestId }))
              )
          ),
          Effect.annotateLogs({ requestId }),
          Effect.flatMap((response) => {
            const answered = HttpServerResponse.setHeader(response, "x-request-id", requestId)
            // The access line is skipped before its annotations are built when INFO is filtered out.
            if (LogLevel.lessThan(LogLevel.Info, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))) {
              return Effect.succeed(answered)
            }
            const line: AccessLine = {
              requestId,
              method: request.method,
              path: request.url.split("?", 1)[0],
              status: response.status,
              durationMs: Math.round((performance.now() - started) * 100) / 100
            }
            // The JSON logger's line written at once (as the HTTP fast path does), not through a log call.
            if (accessLog !== undefined && accessLog.handles(fiber.getFiberRef(FiberRef.currentLoggers))) {
              const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
              accessLog.write(line, span._tag === "Some" && span.value._tag === "Span" ? span.value : undefined, () => clock.unsafeCurrentTimeNanos())
              return Effect.succeed(answered)
            }
            return Effect.as(Effect.logInfo("http").pipe(Effect.annotateLogs(line)), answered)
          })
        )
      })
  }),
  { global: true }
)

/** The body's declared size (0 without a Content-Length, e.g. chunked). */
const declaredLength = (request: HttpServerRequest.HttpServerRequest) => {
  const n = Number(request.headers["content-length"] ?? 0)
  return Number.isFinite(n) ? n : 0
}

/** JSON 413 naming the limit (Bun's own 413, past its hard cap, has an empty body: see src/app/Server.ts). */
const tooLarge = (maxBodyBytes: number, requestId: string) =>
  jsonError(413, "PayloadTooLarge", `request body exceeds MAX_BODY_BYTES (${maxBodyBytes} bytes)`, { requestId })

interface Rejection {
  readonly status: 400 | 413 | 415
  readonly tag: string
  readonly message: string
}

const JSON_ONLY: Rejection = {
  status: 415,
  tag: "UnsupportedMediaType",
  message: "this endpoint takes an application/json body"
}

/**
 * The body guard. HttpApi decodes a body by its content type (JSON, multipart, otherwise URL
 * encoded), so each is checked the way it will be read: JSON text by one linear scan (NUL,
 * depth); other text also for `%00`, which URL decoding turns into NUL. The text is cached by
 * the request, so handlers do not read the body twice.
 */
const checkBody = (
  request: HttpServerRequest.HttpServerRequest,
  rules: BodyRules,
  maxBodyBytes: number
): Effect.Effect<Rejection | undefined> => {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return Effect.succeed(undefined)
  const path = request.url.split("?", 1)[0]
  if (rules.rawBodyPaths.includes(path)) return Effect.succeed(undefined)
  const type = (request.headers["content-type"] ?? "").toLowerCase()
  const multipartRoute = rules.acceptsMultipart(request.method, path)
  if (type.startsWith("multipart/") || type.startsWith("application/x-www-form-urlencoded")) {
    return Effect.succeed(multipartRoute ? undefined : JSON_ONLY)
  }
  if (multipartRoute) return Effect.succeed(undefined)
  const json = type === "" || type.includes("application/json")
  return request.text.pipe(
    Effect.flatMap((text): Effect.Effect<Rejection | undefined> => {
      // A chunked body (no Content-Length) is known to be too large only once read.
      if (Buffer.byteLength(text) > maxBodyBytes) {
        return Effect.succeed({ status: 413, tag: "PayloadTooLarge", message: `request body exceeds MAX_BODY_BYTES (${maxBodyBytes} bytes)` })
      }
      return Effect.map(scanInSlices(text), (scanned) => {
        const problem = scanned ?? (!json && text.includes("%00") ? "nul" : undefined)
        return problem === undefined ? undefined : { status: 400, tag: "BadRequest", message: bodyProblemMessage(problem) }
      })
    }),
    // An unreadable body fails the same way for the handler, which answers it.
    Effect.orElseSucceed(() => undefined)
  )
}

/** ~1 MB per slice (a few ms), then other fibers run: a 10 MB body does not hold the event loop. */
const SLICE = 1 << 20

const scanInSlices = (text: string): Effect.Effect<BodyProblem | undefined> => {
  const step = (scan: JsonScan): Effect.Effect<BodyProblem | undefined> => {
    const next = scanJsonText(text, scan, scan.position + SLICE)
    if (typeof next === "string") return Effect.succeed(next)
    if (next.position >= text.length) return Effect.succeed(undefined)
    // sleep(0) is a timer: pending I/O (other requests) runs in between; yieldNow would only queue a microtask.
    return Effect.zipRight(Effect.sleep(0), Effect.suspend(() => step(next)))
  }
  return Effect.suspend(() => step(JSON_SCAN_START))
}

/** A 429 TaggedError (`retryAfterSeconds` in its body) also tells HTTP clients when to retry. */
const retryAfterHeader = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  if (response.status !== 429 || response.headers["retry-after"] !== undefined || response.body._tag !== "Uint8Array") return response
  try {
    const seconds = (JSON.parse(utf8.decode(response.body.body)) as { retryAfterSeconds?: unknown }).retryAfterSeconds
    return typeof seconds === "number" && Number.isFinite(seconds)
      ? HttpServerResponse.setHeader(response, "retry-after", String(Math.max(1, Math.ceil(seconds))))
      : response
  } catch {
    return response
  }
}

const MAX_MESSAGE = 200
const clip = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s)
const utf8 = new TextDecoder()

/**
 * HttpApi's decode failure spells out the whole schema of the payload in `message` (kilobytes
 * for a large payload, and every key the caller sent): keep the tag and the first issues, each
 * clipped, with the first issue as the message.
 */
const conciseDecodeError = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  if (response.status !== 400 || response.body._tag !== "Uint8Array") return response
  let parsed: unknown
  try {
    parsed = JSON.parse(utf8.decode(response.body.body))
  } catch {
    return response
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as { _tag?: unknown })._tag !== "HttpApiDecodeError") return response
  const raw = (parsed as { issues?: unknown }).issues
  const issues = (Array.isArray(raw) ? raw.slice(0, 5) : []).map((issue: { _tag?: unknown; path?: unknown; message?: unknown }) => ({
    _tag: issue._tag,
    path: Array.isArray(issue.path) ? issue.path.slice(0, 10).map((p) => (typeof p === "number" ? p : clip(String(p)))) : [],
    message: clip(String(issue.message ?? ""))
  }))
  const first = issues[0]
  const message = first === undefined
    ? "request does not match the endpoint's schema"
    : clip(`${first.path.length > 0 ? `${first.path.join(".")}: ` : ""}${first.message}`)
  return HttpServerResponse.unsafeJson({ _tag: "HttpApiDecodeError", message, issues }, { status: 400, headers: response.headers })
}

/** Requests answered 400 before any handler sees them; the reason, or undefined to proceed. */
const rejectEarly = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  // platform-bun's multipart reader dies on a body-less request (null stream).
  if (
    request.headers["content-type"]?.toLowerCase().startsWith("multipart/") === true &&
    (request.headers["content-length"] ?? "0") === "0" && !request.headers["transfer-encoding"]
  ) return "multipart request without a body"
  // Postgres text cannot hold NUL: an id or filter with one would fail deep in a query.
  if (/%00/.test(request.url)) return "NUL characters are not allowed in the URL"
  return undefined
}
