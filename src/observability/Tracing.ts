// Module paths, not the package index: the index also loads the web SDK and the OTLP
// serialisers this process does not use (~120 modules at every start, issue #22).
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Duration, Effect, Layer, Metric, Option, Schedule, Tracer } from "effect"
import { TraceMetrics } from "./Metrics.ts"
import { ServerSpans, ServerSpanSampling, SpanBuffer, StoringSpanProcessor } from "./SpanSink.ts"
import { TraceStore } from "./TraceStore.ts"
import { ObservabilityConfig } from "./ObservabilityConfig.ts"

/**
 * Root spans that are background noise: the cluster polls its SQL storage
 * every few hundred ms, and each poll would otherwise be a one-span trace.
 * The same queries made inside a request, an entity message or a workflow
 * are kept (they have a parent).
 */
const backgroundRoot: Sampler = {
  shouldSample: (_context, _traceId, spanName) => ({
    decision: spanName === "sql.execute" ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED
  }),
  toString: () => "DropBackgroundSqlRoots"
}

/**
 * OpenTelemetry tracing for every Effect span of the process (HTTP server and
 * client spans, SQL, entity messages, workflow activities, `Effect.fn`):
 * spans go to the SQL store (observability_traces, via SpanBuffer) and, when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, to an OTLP/HTTP collector. Also gives
 * `ServerSpans`, the store's sampling of trivial requests, for the HTTP fast path.
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* ObservabilityConfig
    const buffer = yield* SpanBuffer
    const sampling = new ServerSpanSampling(config.traceTrivialSampleRatio, config.traceSlowMs, Option.isSome(config.otlpEndpoint))
    const processors: [SpanProcessor, ...Array<SpanProcessor>] = [new StoringSpanProcessor(buffer, sampling)]
    if (Option.isSome(config.otlpEndpoint)) {
      const base = config.otlpEndpoint.value.replace(/\/+$/, "")
      // Loaded only when a collector is configured (~225 modules).
      const { OTLPTraceExporter } = yield* Effect.promise(() => import("@opentelemetry/exporter-trace-otlp-http"))
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` })))
    }
    return EffectSpansOnly.pipe(
      Layer.provideMerge(OtelTracer.layerTracer),
      Layer.provide(
        NodeSdk.layerTracerProvider(processors, { sampler: new ParentBasedSampler({ root: backgroundRoot }) })
      ),
      Layer.provideMerge(Resource.layer({ serviceName: config.serviceName })),
      Layer.merge(Layer.succeed(ServerSpans, sampling))
    )
  })
)

/**
 * The OTel-backed Effect tracer without its `context` hook. That hook wraps
 * every fiber resumption in `otel.context.with(...)` so that OTel-instrumented
 * non-Effect libraries see the current span; this process has none (spans
 * are parented from the Effect span tree), and the hook was ~20 % of the CPU
 * of a simple authenticated request.
 */
const EffectSpansOnly = Layer.unwrapEffect(
  Effect.map(OtelTracer.make, (otel) => Layer.setTracer(Tracer.make({ span: otel.span, context: (execution) => execution() })))
)

/**
 * Moves buffered spans into SQL in batches and prunes to the retention
 * bounds. Runs with tracing off: its own inserts must not become spans.
 */
export const TraceWriterLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* ObservabilityConfig
    const buffer = yield* SpanBuffer
    const store = yield* TraceStore
    const flush = Effect.gen(function*() {
      const rows = yield* buffer.drain
      // Chunks of 500 bound each INSERT's JSON and how long it holds the (embedded: only) session.
      for (let i = 0; i < rows.length; i += 500) yield* store.insert(rows.slice(i, i + 500))
      yield* Metric.incrementBy(TraceMetrics.stored, rows.length)
      yield* Metric.set(TraceMetrics.dropped, buffer.dropped())
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("storing spans failed", cause)),
      Effect.withTracerEnabled(false)
    )
    const prune = store.prune(config.traceRetentionMaxRows, config.traceRetentionMaxAgeHours).pipe(
      Effect.tap((n) => (n > 0 ? Effect.logDebug("pruned stored spans").pipe(Effect.annotateLogs({ n })) : Effect.void)),
      Effect.catchAllCause((cause) => Effect.logWarning("pruning spans failed", cause)),
      Effect.withTracerEnabled(false)
    )
    yield* flush.pipe(Effect.repeat(Schedule.spaced(Duration.millis(config.traceFlushIntervalMs))), Effect.forkScoped)
    yield* prune.pipe(Effect.repeat(Schedule.spaced(Duration.millis(config.tracePruneIntervalMs))), Effect.forkScoped)
    // Last flush on shutdown: the spans of the final requests are not lost.
    yield* Effect.addFinalizer(() => flush)
  })
)

/** Flushes now (tests and the ingest endpoint read their own writes). */
export const flushSpans = Effect.gen(function*() {
  const buffer = yield* SpanBuffer
  const store = yield* TraceStore
  const rows = yield* buffer.drain
  for (let i = 0; i < rows.length; i += 500) yield* store.insert(rows.slice(i, i + 500))
}).pipe(Effect.withTracerEnabled(false))
