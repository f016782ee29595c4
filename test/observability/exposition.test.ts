import { describe, expect, test } from "bun:test"
import { Effect, Logger, Metric, MetricBoundaries } from "effect"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import { aggregate, breached, currentValue } from "../../src/observability/AlertEvaluator.ts"
import { recordGenAiSpan } from "../../src/observability/GenAi.ts"
import { correlatedJsonLogger } from "../../src/observability/Logging.ts"
import { allSamples, familiesFromEffect, processFamilies, render } from "../../src/observability/Prometheus.ts"

// Unique names: the Effect metric registry is process-global and shared with other suites.
const suffix = crypto.randomUUID().slice(0, 8)

describe("Prometheus exposition from Effect metrics", () => {
  test("counters, gauges and histograms parse with a real parser and keep their values", async () => {
    const counter = Metric.counter(`test_requests_${suffix}_total`, { description: "requests\nby route" })
    const gauge = Metric.gauge(`test.in_flight.${suffix}`)
    const histogram = Metric.histogram(`test_latency_${suffix}_seconds`, MetricBoundaries.fromIterable([0.1, 0.5, 1]))
    await Effect.runPromise(Effect.gen(function*() {
      yield* Metric.incrementBy(counter, 3).pipe(Effect.tagMetrics({ route: "/a", status: "200" }))
      yield* Metric.incrementBy(counter, 2).pipe(Effect.tagMetrics({ route: "/b \"quoted\"\\", status: "500" }))
      yield* Metric.set(gauge, 7)
      for (const v of [0.05, 0.2, 0.7, 3]) yield* Metric.update(histogram, v)
    }))
    const text = render([...familiesFromEffect(Metric.unsafeSnapshot()), ...processFamilies(Date.now() - 1000)])
    const families = parsePrometheusTextFormat(text)
    const byName = new Map(families.map((f) => [f.name, f]))

    const requests = byName.get(`test_requests_${suffix}_total`)
    expect(requests?.type).toBe("COUNTER")
    expect(requests?.help).toBe("requests\nby route")
    expect(requests?.metrics.map((m) => [m.labels?.route, Number(m.value)]).sort()).toEqual([
      ["/a", 3],
      ["/b \"quoted\"\\", 2]
    ])

    // Dots are not valid in metric names: sanitised, not dropped.
    const inFlight = byName.get(`test_in_flight_${suffix}`)
    expect(inFlight?.type).toBe("GAUGE")
    expect(Number(inFlight?.metrics[0].value)).toBe(7)

    const latency = byName.get(`test_latency_${suffix}_seconds`)
    expect(latency?.type).toBe("HISTOGRAM")
    const h = latency?.metrics[0]
    // Cumulative buckets, +Inf equal to the count.
    expect(h?.buckets).toEqual({ "0.1": "1", "0.5": "2", "1": "3", "+Inf": "4" })
    expect(Number(h?.count)).toBe(4)
    expect(Number(h?.sum)).toBeCloseTo(3.95, 6)

    expect(Number(byName.get("process_resident_memory_bytes")?.metrics[0].value)).toBeGreaterThan(1_000_000)
    expect(byName.get("process_cpu_seconds_total")?.type).toBe("COUNTER")
  })

  test("a flattened sample list sums the series an alert rule selects", () => {
    const families = familiesFromEffect([])
    expect(families).toEqual([])
    const samples = allSamples([{
      name: "http_server_requests_total",
      type: "counter",
      help: "",
      samples: [
        { name: "http_server_requests_total", labels: { route: "/a", status: "404" }, value: 4 },
        { name: "http_server_requests_total", labels: { route: "/b", status: "404" }, value: 1 },
        { name: "http_server_requests_total", labels: { route: "/a", status: "200" }, value: 9 }
      ]
    }])
    expect(currentValue({ metric: "http_server_requests_total", labels: { status: "404" } }, samples)).toBe(5)
    expect(currentValue({ metric: "http_server_requests_total", labels: {} }, samples)).toBe(14)
    expect(currentValue({ metric: "nope_total", labels: {} }, samples)).toBeNull()
  })

  test("a metric recorded per project counts only the rule's own project", () => {
    const samples = allSamples([{
      name: "tool_calls_total",
      type: "counter",
      help: "",
      samples: [
        { name: "tool_calls_total", labels: { tool: "echo", status: "ok", project: "p1" }, value: 2 },
        { name: "tool_calls_total", labels: { tool: "echo", status: "ok", project: "p2" }, value: 40 },
        { name: "tool_calls_total", labels: { tool: "echo", status: "error", project: "p1" }, value: 1 }
      ]
    }])
    expect(currentValue({ metric: "tool_calls_total", labels: {}, projectId: "p1" }, samples)).toBe(3)
    expect(currentValue({ metric: "tool_calls_total", labels: { status: "ok" }, projectId: "p2" }, samples)).toBe(40)
    expect(currentValue({ metric: "tool_calls_total", labels: {}, projectId: "p3" }, samples)).toBeNull()
  })
})

describe("alert rule arithmetic", () => {
  const points = [
    { at: 0, value: 10 },
    { at: 5_000, value: 12 },
    { at: 10_000, value: 20 },
    { at: 15_000, value: 26 }
  ]

  test("increase and rate use the last point at or before the window start as baseline", () => {
    expect(aggregate({ aggregation: "increase", windowSeconds: 10 }, points)).toBe(14)
    expect(aggregate({ aggregation: "rate", windowSeconds: 10 }, points)).toBeCloseTo(1.4, 9)
    // A window longer than the history: from the oldest point.
    expect(aggregate({ aggregation: "increase", windowSeconds: 3600 }, points)).toBe(16)
  })

  test("a counter reset counts from zero instead of going negative", () => {
    expect(aggregate({ aggregation: "increase", windowSeconds: 10 }, [{ at: 0, value: 50 }, { at: 10_000, value: 3 }])).toBe(3)
  })

  test("last / avg / min / max over the window", () => {
    expect(aggregate({ aggregation: "last", windowSeconds: 10 }, points)).toBe(26)
    expect(aggregate({ aggregation: "avg", windowSeconds: 10 }, points)).toBeCloseTo((12 + 20 + 26) / 3, 9)
    expect(aggregate({ aggregation: "min", windowSeconds: 10 }, points)).toBe(12)
    expect(aggregate({ aggregation: "max", windowSeconds: 10 }, points)).toBe(26)
    expect(aggregate({ aggregation: "max", windowSeconds: 10 }, [])).toBeNull()
  })

  test("comparisons", () => {
    expect(breached("gt", 5, 4)).toBe(true)
    expect(breached("gt", 4, 4)).toBe(false)
    expect(breached("gte", 4, 4)).toBe(true)
    expect(breached("lt", 3, 4)).toBe(true)
    expect(breached("lte", 5, 4)).toBe(false)
    expect(breached("eq", 4, 4)).toBe(true)
    expect(breached("neq", 4, 4)).toBe(false)
  })
})

describe("structured logs", () => {
  test("a JSON line carries the current trace id, span id and request id", async () => {
    const lines: Array<string> = []
    const capture = Logger.replace(Logger.defaultLogger, Logger.map(correlatedJsonLogger, (line) => lines.push(line)))
    const span = await Effect.runPromise(
      Effect.gen(function*() {
        yield* Effect.logInfo("outside any span")
        return yield* Effect.withSpan(
          Effect.gen(function*() {
            yield* Effect.logWarning("inside").pipe(Effect.annotateLogs({ requestId: "req-42", n: 1 }))
            return yield* Effect.currentSpan
          }),
          "unit.work"
        )
      }).pipe(Effect.provide(capture))
    )
    const [outside, inside] = lines.map((l) => JSON.parse(l))
    expect(outside.message).toBe("outside any span")
    expect(outside.traceId).toBeUndefined()
    expect(inside).toMatchObject({
      message: "inside",
      logLevel: "WARN",
      traceId: span.traceId,
      spanId: span.spanId,
      requestId: "req-42",
      annotations: { requestId: "req-42", n: 1 }
    })
  })
})

describe("metrics derived from GenAI spans", () => {
  test("tokens, list-price cost, requests and tool errors", () => {
    const model = `gpt-4o-mini-${suffix}`
    recordGenAiSpan({ "gen_ai.system": "openai", "gen_ai.request.model": model, "gen_ai.operation.name": "chat" }, 12, false)
    // The usage arrives on another span of the same call (how LanguageModel.generate reports it).
    recordGenAiSpan({
      "gen_ai.system": "openai",
      "gen_ai.request.model": model,
      "gen_ai.usage.input_tokens": 1_000_000,
      "gen_ai.usage.output_tokens": 1_000_000
    }, 40, false)
    const tool = `lookup_${suffix}`
    recordGenAiSpan({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "error.type": "ToolTimeout" }, 5, true)
    recordGenAiSpan({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool }, 5, false)

    const samples = allSamples(familiesFromEffect(Metric.unsafeSnapshot()))
    const value = (name: string, labels: Record<string, string>) => currentValue({ metric: name, labels }, samples)
    expect(value("llm_tokens_total", { model, type: "input" })).toBe(1_000_000)
    expect(value("llm_tokens_total", { model, type: "output" })).toBe(1_000_000)
    // gpt-4o-mini list price: $0.15 in + $0.60 out per million tokens.
    expect(value("llm_cost_usd_total", { model, gen_ai_system: "openai" })).toBeCloseTo(0.75, 9)
    expect(value("llm_requests_total", { model, status: "ok" })).toBe(1)
    expect(value("tool_calls_total", { tool })).toBe(2)
    expect(value("tool_errors_total", { tool, error: "ToolTimeout" })).toBe(1)
  })
})
