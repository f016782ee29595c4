import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, NotFound } from "../../kernel/WireErrors.ts"
import { A2AGraph } from "../A2AFlow.ts"
import { AlertRule, CreateAlertRule, UpdateAlertRule } from "../Alert.ts"
import { StoredSpan } from "../Trace.ts"

const NumberFromQuery = Schema.NumberFromString.pipe(Schema.filter(Number.isFinite))
const DateFromQuery = Schema.Date

export const TraceQuery = Schema.Struct({
  traceId: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/))),
  projectId: Schema.optional(Schema.String),
  service: Schema.optional(Schema.String),
  operation: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Literal("ok", "error")),
  minDurationMs: Schema.optional(NumberFromQuery),
  maxDurationMs: Schema.optional(NumberFromQuery),
  from: Schema.optional(DateFromQuery),
  to: Schema.optional(DateFromQuery),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)))
})

const AttributeValue = Schema.Union(
  Schema.String.pipe(Schema.maxLength(4096)),
  Schema.Number,
  Schema.Boolean,
  Schema.Array(Schema.Union(Schema.String.pipe(Schema.maxLength(1024)), Schema.Number, Schema.Boolean)).pipe(
    Schema.maxItems(128)
  )
)

export const IngestSpan = Schema.Struct({
  traceId: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/), Schema.filter((s) => !/^0+$/.test(s))),
  spanId: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/), Schema.filter((s) => !/^0+$/.test(s))),
  parentSpanId: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/))), {
    default: () => null
  }),
  service: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  operation: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)),
  kind: Schema.optionalWith(Schema.Literal("internal", "server", "client", "producer", "consumer"), {
    default: () => "internal" as const
  }),
  status: Schema.optionalWith(Schema.Literal("ok", "error"), { default: () => "ok" as const }),
  startTime: Schema.Date,
  durationMs: Schema.Number.pipe(Schema.between(0, 86_400_000)),
  attributes: Schema.optionalWith(
    Schema.Record({ key: Schema.String.pipe(Schema.maxLength(256)), value: AttributeValue }).pipe(
      Schema.filter((r) => Object.keys(r).length <= 128 || "at most 128 attributes per span")
    ),
    { default: () => ({}) }
  )
})

export const IngestTraces = Schema.Struct({
  projectId: Schema.String,
  spans: Schema.Array(IngestSpan).pipe(Schema.minItems(1), Schema.maxItems(1000))
})

export const SpanList = Schema.Struct({ spans: Schema.Array(StoredSpan), count: Schema.Int })

export const ObservabilityHealth = Schema.Struct({
  status: Schema.Literal("ok", "degraded"),
  serviceName: Schema.String,
  otlpExport: Schema.Boolean,
  storedSpans: Schema.Int,
  droppedSpans: Schema.Int,
  retention: Schema.Struct({ maxRows: Schema.Int, maxAgeHours: Schema.Number }),
  alerts: Schema.Struct({ rules: Schema.Int, firing: Schema.Int })
})

export const PrometheusText = HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" })

const AlertId = Schema.Struct({ id: Schema.String })

/** Traces, metrics, A2A flows, alert rules. Everything here needs a caller; GET /metrics (scrapers) does not. */
export class ObservabilityApi extends HttpApiGroup.make("observability")
  .add(HttpApiEndpoint.get("health", "/observability/health").addSuccess(ObservabilityHealth))
  .add(
    HttpApiEndpoint.get("listTraces", "/observability/traces")
      .setUrlParams(TraceQuery)
      .addSuccess(SpanList)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("getTrace", "/observability/traces/:traceId")
      .setPath(Schema.Struct({ traceId: Schema.String }))
      .addSuccess(SpanList)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("ingestTraces", "/observability/traces")
      .setPayload(IngestTraces)
      .addSuccess(Schema.Struct({ accepted: Schema.Int }), { status: 202 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("a2aFlows", "/observability/a2a")
      .setUrlParams(Schema.Struct({
        projectId: Schema.optional(Schema.String),
        agent: Schema.optional(Schema.String),
        from: Schema.optional(DateFromQuery),
        to: Schema.optional(DateFromQuery)
      }))
      .addSuccess(A2AGraph)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(HttpApiEndpoint.get("metrics", "/observability/metrics").addSuccess(PrometheusText))
  .add(
    HttpApiEndpoint.get("listAlerts", "/observability/alerts")
      .setUrlParams(Schema.Struct({ projectId: Schema.optional(Schema.String) }))
      .addSuccess(Schema.Struct({ rules: Schema.Array(AlertRule) }))
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("createAlert", "/observability/alerts")
      .setPayload(CreateAlertRule)
      .addSuccess(AlertRule, { status: 201 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(BadRequest)
      .addError(Conflict)
  )
  .add(HttpApiEndpoint.get("getAlert", "/observability/alerts/:id").setPath(AlertId).addSuccess(AlertRule).addError(NotFound).addError(Forbidden))
  .add(
    HttpApiEndpoint.patch("updateAlert", "/observability/alerts/:id")
      .setPath(AlertId)
      .setPayload(UpdateAlertRule)
      .addSuccess(AlertRule)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.del("deleteAlert", "/observability/alerts/:id")
      .setPath(AlertId)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Traces (OpenTelemetry), Prometheus metrics, agent-to-agent flows, alert rules")
{}
