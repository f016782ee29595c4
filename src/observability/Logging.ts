import * as fs from "node:fs"
import { Context, Effect, FiberRef, FiberRefs, HashSet, Layer, Logger, Tracer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { AccessLog } from "../http/AccessLog.ts"

/**
 * Effect's structured log record plus the current trace and span ids (W3C
 * hex, the ids GET /observability/traces/:traceId and an OTLP backend show)
 * and the request id at the top level, so a log line leads to its trace and
 * its request.
 */
export const correlatedJsonLogger = Logger.make<unknown, string>((options) => {
  const record = Logger.structuredLogger.log(options)
  const context = FiberRefs.getOrDefault(options.context, FiberRef.currentContext)
  const span = Context.getOption(context, Tracer.ParentSpan)
  const requestId = record.annotations.requestId
  const line = {
    ...record,
    ...(span._tag === "Some" ? { traceId: span.value.traceId, spanId: span.value.spanId } : {}),
    ...(typeof requestId === "string" ? { requestId } : {})
  }
  try {
    return JSON.stringify(line)
  } catch {
    // A value JSON cannot encode (a BigInt, a cycle) must not lose the line.
    return JSON.stringify({ ...line, annotations: {}, message: String(record.message) })
  }
})

/**
 * Lines written to stdout in batches: one write per 5 ms (or per 512 lines) instead of one
 * `console.log` per line. At the INFO default every request logs an access line, and a write per
 * line cost more CPU than the rest of the line's work; a write per event-loop turn still carried
 * a few lines each under load (~5 % of a fast request's CPU). A process exiting normally or by
 * `process.exit` still writes what is pending; only a SIGKILL can lose its last 5 ms of lines.
 */
const pending: Array<string> = []
let flushScheduled = false
const flush = () => {
  flushScheduled = false
  if (pending.length === 0) return
  const text = pending.join("\n") + "\n"
  pending.length = 0
  process.stdout.write(text)
}
let exitHookInstalled = false
const writeLine = (line: string) => {
  pending.push(line)
  if (pending.length >= 512) return flush()
  if (!flushScheduled) {
    flushScheduled = true
    // Unref'd: pending lines do not keep the process alive (the exit hook writes them).
    setTimeout(flush, 5).unref()
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      if (pending.length > 0) fs.writeSync(1, pending.join("\n") + "\n")
      pending.length = 0
    })
  }
}

/** `correlatedJsonLogger` writing its lines to stdout in batches. */
export const batchedJsonLogger = Logger.map(correlatedJsonLogger, writeLine)

let directLoggers: HashSet.HashSet<Logger.Logger<unknown, unknown>> | undefined

/**
 * The access line (src/http/AccessLog.ts) for a process whose loggers are `batchedJsonLogger`,
 * with or without Effect's tracer logger: the line that logger writes for `Effect.logInfo("http")`
 * annotated with the line's fields under the request's server span (less the `fiberId` of a fiber
 * there may not be), and the event the tracer logger adds to that span. A process logging
 * otherwise (pretty, a test's logger) logs its access lines through Effect.
 */
export const jsonAccessLog: AccessLog = {
  handles: (loggers) => {
    if (loggers === directLoggers) return true
    if (!HashSet.has(loggers, batchedJsonLogger as Logger.Logger<unknown, unknown>)) return false
    for (const logger of loggers) if (logger !== batchedJsonLogger && logger !== Logger.tracerLogger) return false
    directLoggers = loggers
    return true
  },
  write: (line, span, nowNanos) => {
    if (span !== undefined) {
      span.event("http", nowNanos(), {
        requestId: line.requestId,
        method: line.method,
        path: line.path,
        status: line.status,
        durationMs: line.durationMs,
        "effect.logLevel": "INFO"
      })
    }
    // The JSON.stringify of that record, spelt out: the request id is a checked token or a UUID
    // (src/http/Middleware.ts) and the method an HTTP token, neither needs escaping.
    const ids = span !== undefined ? `"traceId":"${span.traceId}","spanId":"${span.spanId}",` : ""
    writeLine(
      `{"message":"http","logLevel":"INFO","timestamp":"${isoNow()}","annotations":{"requestId":"${line.requestId}","method":"${line.method}","path":${
        JSON.stringify(line.path)
      },"status":${line.status},"durationMs":${line.durationMs}},"spans":{},${ids}"requestId":"${line.requestId}"}`
    )
  }
}

/** `new Date().toISOString()`, formatted once per millisecond (many access lines share one). */
let isoMs = 0
let iso = ""
const isoNow = () => {
  const now = Date.now()
  if (now !== isoMs) (isoMs = now, iso = new Date(now).toISOString())
  return iso
}

/** Structured JSON logs correlated with traces (or pretty ones for a terminal) at LOG_LEVEL. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.mergeAll(
      // Replace (not add to) the default logger: one line per event.
      config.logFormat === "json"
        ? Logger.replace(Logger.defaultLogger, batchedJsonLogger)
        : Logger.pretty,
      Logger.minimumLogLevel(config.logLevel)
    ))
)
