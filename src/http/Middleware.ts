import {
  FileSystem,
  HttpIncomingMessage,
  HttpLayerRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
  Multipart
} from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { jsonError } from "../kernel/JsonError.ts"

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Every request: a request id (taken from `x-request-id` when sane, else new)
 * on the response and on every log line of the request; the body size limit;
 * a JSON 500 for defects (logged with their cause, never sent); one structured
 * access-log line. Query strings are not logged: they may carry tokens.
 */
export const RequestContextMiddleware = HttpLayerRouter.middleware(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const maxBody = Option.some(FileSystem.Size(config.maxBodyBytes))
    return (httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const header = request.headers["x-request-id"]
        const requestId = header && REQUEST_ID.test(header) ? header : crypto.randomUUID()
        const started = performance.now()
        // Ties the server span (GET /observability/traces) to the request id clients and logs see.
        yield* Effect.annotateCurrentSpan("request.id", requestId)
        const early = rejectEarly(request)
        const response = yield* (early
          ? Effect.succeed(jsonError(400, "BadRequest", early, { requestId }))
          : httpEffect).pipe(
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
              : Effect.logError("unhandled defect", Cause.die(defect)).pipe(
                Effect.as(jsonError(500, "InternalError", "internal server error", { requestId }))
              )
          ),
          Effect.annotateLogs({ requestId })
        )
        const path = request.url.split("?", 1)[0]
        yield* Effect.logInfo("http").pipe(
          Effect.annotateLogs({
            requestId,
            method: request.method,
            path,
            status: response.status,
            durationMs: Math.round((performance.now() - started) * 100) / 100
          })
        )
        return HttpServerResponse.setHeader(response, "x-request-id", requestId)
      })
  }),
  { global: true }
)

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
