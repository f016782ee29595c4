import { describe, expect, test } from "bun:test"
import { Effect, HashSet, Logger } from "effect"
import { batchedJsonLogger, correlatedJsonLogger, jsonAccessLog } from "../../src/observability/Logging.ts"

/**
 * The access line written without a log call (the HTTP fast path and the request middleware,
 * src/http/AccessLog.ts) is the line the JSON logger writes for `Effect.logInfo("http")` with the
 * same annotations under the request's span, less the `fiberId`.
 */
const line = { requestId: "req-1", method: "GET", path: "/auth/me", status: 200, durationMs: 0.42 }

/** What the JSON logger writes for the log call, under a span. */
const logged = Effect.runSync(Effect.gen(function*() {
  const lines: Array<string> = []
  const capture = Logger.replace(Logger.defaultLogger, Logger.map(correlatedJsonLogger, (l) => lines.push(l)))
  const span = yield* Effect.makeSpan("http.server GET")
  yield* Effect.logInfo("http").pipe(Effect.annotateLogs(line), Effect.withParentSpan(span), Effect.provide(capture))
  return { line: JSON.parse(lines[0]) as Record<string, unknown>, span }
}))

/** What `jsonAccessLog.write` hands to stdout (read back from the batch it writes). */
const written = async (span: Parameters<typeof jsonAccessLog.write>[1]) => {
  const chunks: Array<string> = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string) => (chunks.push(String(chunk)), true)) as typeof process.stdout.write
  try {
    jsonAccessLog.write(line, span, () => 0n)
    await Bun.sleep(30)
  } finally {
    process.stdout.write = write
  }
  return chunks.join("").split("\n").filter((l) => l.includes('"message":"http"')).map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe("access line without a log call", () => {
  test("the same JSON as the logger's line for the log call, less fiberId", async () => {
    const [direct] = await written(logged.span)
    const { fiberId: _, timestamp: __, ...expected } = logged.line
    const { timestamp, ...rest } = direct
    expect(rest).toEqual(expected)
    expect(Date.parse(String(timestamp))).toBeGreaterThan(Date.now() - 60_000)
  })

  test("without a span: no trace ids", async () => {
    const [direct] = await written(undefined)
    expect(direct.traceId).toBeUndefined()
    expect(direct).toMatchObject({ message: "http", logLevel: "INFO", annotations: line, requestId: "req-1" })
  })

  test("serves only the batched JSON logger (with the tracer logger); other loggers log through Effect", () => {
    const loggers = (...all: Array<Logger.Logger<unknown, unknown>>) => HashSet.fromIterable(all)
    expect(jsonAccessLog.handles(loggers(batchedJsonLogger, Logger.tracerLogger))).toBe(true)
    expect(jsonAccessLog.handles(loggers(Logger.defaultLogger, Logger.tracerLogger))).toBe(false)
    expect(jsonAccessLog.handles(loggers(batchedJsonLogger, Logger.prettyLoggerDefault))).toBe(false)
  })
})
