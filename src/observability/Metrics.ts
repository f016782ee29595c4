import type { Attributes } from "@opentelemetry/api"
import { Metric, MetricBoundaries, MetricLabel } from "effect"

/**
 * The platform's metrics, defined with Effect's `Metric` API (the source of
 * truth; GET /metrics renders every Effect metric of the process, including
 * the cluster's own `effect_cluster_*` gauges). Other services record with
 * these (or their own `Metric.counter(...)`: any metric shows up on /metrics).
 *
 * Naming follows Prometheus: snake_case, base units (seconds, bytes, USD),
 * counters end in `_total`.
 */

const latencyBuckets = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 16 })

export const HttpMetrics = {
  requests: Metric.counter("http_server_requests_total", {
    description: "HTTP requests served, by method, matched route and status",
    incremental: true
  }),
  duration: Metric.histogram(
    "http_server_request_duration_seconds",
    latencyBuckets,
    "HTTP request latency (server span duration), by method, matched route and status"
  ),
  /** Called for every ended server span (see SpanSink): labels stay low-cardinality (route template, not path). */
  recordServerSpan(attributes: Attributes, durationMs: number) {
    const method = attributes["http.request.method"]
    if (typeof method !== "string") return
    const route = attributes["http.route"]
    const labels = serverLabels(method, typeof route === "string" ? route : "unmatched", String(attributes["http.response.status_code"] ?? 0))
    HttpMetrics.requests.unsafeUpdate(1, labels)
    HttpMetrics.duration.unsafeUpdate(durationMs / 1000, labels)
  }
}

// Label sets are few (method × route template × status) and built per request otherwise.
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const serverLabels = (method: string, route: string, status: string) => {
  const key = `${method} ${status} ${route}`
  let labels = labelSets.get(key)
  if (labels === undefined) {
    labels = [MetricLabel.make("method", method), MetricLabel.make("route", route), MetricLabel.make("status", status)]
    if (labelSets.size < 10_000) labelSets.set(key, labels)
  }
  return labels
}

export const LlmMetrics = {
  /** Labels: gen_ai_system, model, type (input | output). */
  tokens: Metric.counter("llm_tokens_total", { description: "LLM tokens used", incremental: true }),
  /** Labels: gen_ai_system, model. */
  cost: Metric.counter("llm_cost_usd_total", { description: "Estimated LLM cost in USD", incremental: true }),
  /** Labels: gen_ai_system, model, status (ok | error). */
  requests: Metric.counter("llm_requests_total", { description: "LLM calls", incremental: true }),
  duration: Metric.histogram("llm_request_duration_seconds", latencyBuckets, "LLM call latency")
}

export const ToolMetrics = {
  /** Labels: tool, status (ok | error). */
  calls: Metric.counter("tool_calls_total", { description: "Tool calls", incremental: true }),
  /** Labels: tool, error (the error tag). */
  errors: Metric.counter("tool_errors_total", { description: "Tool calls that failed", incremental: true }),
  duration: Metric.histogram("tool_call_duration_seconds", latencyBuckets, "Tool call latency")
}

export const A2AMetrics = {
  /** Labels: from, to, status. */
  messages: Metric.counter("a2a_messages_total", { description: "Agent-to-agent messages", incremental: true })
}

/** Spans dropped because the SQL writer fell behind (the in-memory buffer is bounded). */
export const TraceMetrics = {
  stored: Metric.counter("observability_spans_stored_total", { incremental: true }),
  dropped: Metric.gauge("observability_spans_dropped")
}

export const AlertMetrics = {
  /** Labels: status (firing | resolved), outcome (delivered | failed). */
  notifications: Metric.counter("alert_notifications_total", { incremental: true })
}

/**
 * Sample names an alert rule may watch besides those already on /metrics: a counter appears
 * there only once it has counted something, and a rule may rightly be set up before that.
 * Histograms expose `_bucket`, `_sum` and `_count`.
 */
export const DECLARED_SAMPLE_NAMES: ReadonlyArray<string> = [
  "http_server_requests_total",
  ...histogramSamples("http_server_request_duration_seconds"),
  "llm_tokens_total",
  "llm_cost_usd_total",
  "llm_requests_total",
  ...histogramSamples("llm_request_duration_seconds"),
  "tool_calls_total",
  "tool_errors_total",
  ...histogramSamples("tool_call_duration_seconds"),
  "a2a_messages_total",
  "observability_spans_stored_total",
  "observability_spans_dropped",
  "alert_notifications_total"
]

function histogramSamples(name: string) {
  return [`${name}_bucket`, `${name}_sum`, `${name}_count`]
}
