/**
 * Cost of observability, candidate vs baseline in the same run:
 * - span overhead: nested `Effect.withSpan` through the OTel tracer and the
 *   storing span processor (what every request pays) vs Effect's native tracer
 *   with nothing exported (target: ≤ 25 µs per span);
 * - span store: 5,000 spans written in batches of 500 (the writer) vs one
 *   INSERT per span, on the machine's real PostgreSQL 15 (target: ≥ 5× faster);
 * - /metrics render: Effect snapshot → Prometheus text with ~2,000 series.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Metric, MetricBoundaries } from "effect"
import { pgClientLayer } from "../../src/db/Database.ts"
import { SpanBuffer, StoringSpanProcessor } from "../../src/observability/SpanSink.ts"
import { familiesFromEffect, render } from "../../src/observability/Prometheus.ts"
import { TraceStore } from "../../src/observability/TraceStore.ts"
import type { SpanRow } from "../../src/observability/SpanSink.ts"
import { createTestDatabase } from "../support/postgres.ts"
import type { BenchResult } from "./BenchResult.ts"

const SPANS = 20_000

const nested = Effect.void.pipe(
  Effect.withSpan("leaf", { attributes: { "gen_ai.request.model": "m" } }),
  Effect.withSpan("middle"),
  Effect.withSpan("root")
)

const timeSpans = async <A>(layer: Layer.Layer<A>) => {
  const program = Effect.gen(function*() {
    // Warm-up, then the measured run.
    yield* Effect.repeatN(nested, 999)
    const t0 = performance.now()
    yield* Effect.repeatN(nested, SPANS / 3 - 1)
    return performance.now() - t0
  })
  const ms = await Effect.runPromise(Effect.provide(program, layer))
  return (ms * 1000) / SPANS
}

const spanOverhead = async (): Promise<BenchResult> => {
  const buffer = await Effect.runPromise(Effect.provide(SpanBuffer, SpanBuffer.Default))
  // Drain as the writer would, so the bounded buffer never starts dropping.
  const drain = setInterval(() => Effect.runSync(buffer.drain), 50)
  const otel = NodeSdk.layer(() => ({
    resource: { serviceName: "bench" },
    spanProcessor: [new StoringSpanProcessor(buffer)]
  }))
  try {
    const baseline = await timeSpans(Layer.empty)
    const candidate = await timeSpans(otel)
    return {
      name: "span overhead (3 nested spans)",
      candidate: { label: "OTel + SQL-store processor", value: candidate, unit: "µs/span" },
      baseline: { label: "Effect native tracer", value: baseline, unit: "µs/span" },
      ratio: candidate / baseline,
      target: "≤ 25 µs/span",
      met: candidate <= 25
    }
  } finally {
    clearInterval(drain)
  }
}

const row = (i: number): SpanRow => ({
  traceId: crypto.randomUUID().replaceAll("-", ""),
  spanId: crypto.randomUUID().replaceAll("-", "").slice(0, 16),
  parentSpanId: null,
  service: "bench",
  operation: `op-${i % 10}`,
  kind: "internal",
  status: "ok",
  startTime: new Date(),
  durationMs: i % 100,
  attributes: { "http.route": "/x", i },
  projectId: null,
  source: "internal"
})

const spanStore = async (): Promise<BenchResult> => {
  const db = await createTestDatabase("obsbench")
  try {
    const layer = TraceStore.Default.pipe(
      Layer.provideMerge(pgClientLayer(db.url))
    )
    const result = await Effect.runPromise(Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      yield* pg`CREATE TABLE observability_traces (
        id BIGSERIAL PRIMARY KEY, trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT,
        service TEXT NOT NULL, operation TEXT NOT NULL, status TEXT NOT NULL, start_time TIMESTAMPTZ NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL, attributes JSONB NOT NULL DEFAULT '{}', project_id TEXT,
        source TEXT NOT NULL DEFAULT 'internal', kind TEXT)`
      const store = yield* TraceStore
      const n = 5_000
      const rows = Array.from({ length: n }, (_, i) => row(i))
      let t0 = performance.now()
      for (let i = 0; i < n; i += 500) yield* store.insert(rows.slice(i, i + 500))
      const batched = performance.now() - t0
      const single = rows.map((r, i) => ({ ...row(i), spanId: r.spanId }))
      t0 = performance.now()
      for (const r of single) yield* store.insert([r])
      const oneByOne = performance.now() - t0
      return { batched: n / (batched / 1000), oneByOne: n / (oneByOne / 1000) }
    }).pipe(Effect.provide(layer), Effect.withTracerEnabled(false)))
    return {
      name: "span store write (5,000 spans, real PG15)",
      candidate: { label: "batches of 500", value: result.batched, unit: "spans/s" },
      baseline: { label: "one INSERT per span", value: result.oneByOne, unit: "spans/s" },
      ratio: result.batched / result.oneByOne,
      target: "≥ 5× one-by-one",
      met: result.batched / result.oneByOne >= 5
    }
  } finally {
    await db.drop()
  }
}

const exposition = async (): Promise<BenchResult> => {
  const counter = Metric.counter("bench_requests_total")
  const histogram = Metric.histogram("bench_latency_seconds", MetricBoundaries.linear({ start: 0, width: 0.1, count: 12 }))
  await Effect.runPromise(Effect.gen(function*() {
    for (let i = 0; i < 150; i++) {
      yield* Metric.increment(counter).pipe(Effect.tagMetrics({ route: `/r/${i}` }))
      yield* Metric.update(histogram, (i % 10) / 10).pipe(Effect.tagMetrics({ route: `/r/${i}` }))
    }
  }))
  const snapshot = Metric.unsafeSnapshot()
  const series = familiesFromEffect(snapshot).reduce((n, f) => n + f.samples.length, 0)
  const runs = 50
  let t0 = performance.now()
  for (let i = 0; i < runs; i++) render(familiesFromEffect(Metric.unsafeSnapshot()))
  const rendered = (performance.now() - t0) / runs
  t0 = performance.now()
  for (let i = 0; i < runs; i++) JSON.stringify(Metric.unsafeSnapshot().map((p) => [p.metricKey.name, String(p.metricState)]))
  const json = (performance.now() - t0) / runs
  return {
    name: `/metrics render (${series} samples)`,
    candidate: { label: "Prometheus text", value: rendered, unit: "ms" },
    baseline: { label: "JSON dump of the snapshot", value: json, unit: "ms" },
    ratio: rendered / json,
    target: "≤ 50 ms",
    met: rendered <= 50
  }
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => [
  await spanOverhead(),
  await spanStore(),
  await exposition()
]
