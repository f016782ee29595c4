import { Context, Effect, FiberRef, FiberRefs, Layer, Logger, Tracer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

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

/** Structured JSON logs correlated with traces (or pretty ones for a terminal) at LOG_LEVEL. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.mergeAll(
      // Replace (not add to) the default logger: one line per event.
      config.logFormat === "json"
        ? Logger.replace(Logger.defaultLogger, Logger.withConsoleLog(correlatedJsonLogger))
        : Logger.pretty,
      Logger.minimumLogLevel(config.logLevel)
    ))
)
