import { Schema } from "effect"

export const Aggregation = Schema.Literal("last", "avg", "min", "max", "increase", "rate")
export const Comparison = Schema.Literal("gt", "gte", "lt", "lte", "eq", "neq")
export const AlertStateName = Schema.Literal("ok", "firing")

const MetricName = Schema.String.pipe(Schema.pattern(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/), Schema.maxLength(200))
const WebhookUrl = Schema.String.pipe(
  Schema.maxLength(2048),
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      return (u.protocol === "http:" || u.protocol === "https:") || "webhookUrl must be an http(s) URL"
    } catch {
      return "webhookUrl must be an absolute URL"
    }
  })
)

/** What a rule watches: a sample of GET /metrics (name + exact label match), aggregated over a window. */
export const AlertRuleFields = {
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  /** A sample name as exposed on /metrics, e.g. `http_server_requests_total` or `..._seconds_count`. */
  metric: MetricName,
  /** Series whose labels include all of these; their values are summed. */
  labels: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  aggregation: Schema.optionalWith(Aggregation, { default: () => "last" as const }),
  comparison: Comparison,
  threshold: Schema.Number.pipe(Schema.filter(Number.isFinite, { message: () => "threshold must be finite" })),
  windowSeconds: Schema.Int.pipe(Schema.between(1, 86_400)),
  webhookUrl: WebhookUrl,
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true })
}

export const CreateAlertRule = Schema.Struct({ projectId: Schema.String, ...AlertRuleFields })
export const UpdateAlertRule = Schema.Struct({
  name: Schema.optional(AlertRuleFields.name),
  metric: Schema.optional(MetricName),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  aggregation: Schema.optional(Aggregation),
  comparison: Schema.optional(Comparison),
  threshold: Schema.optional(AlertRuleFields.threshold),
  windowSeconds: Schema.optional(AlertRuleFields.windowSeconds),
  webhookUrl: Schema.optional(WebhookUrl),
  enabled: Schema.optional(Schema.Boolean)
})

export class AlertRule extends Schema.Class<AlertRule>("AlertRule")({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  metric: Schema.String,
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  aggregation: Aggregation,
  comparison: Comparison,
  threshold: Schema.Number,
  windowSeconds: Schema.Int,
  webhookUrl: Schema.String,
  enabled: Schema.Boolean,
  state: AlertStateName,
  /** The current incident (while firing). */
  incidentId: Schema.NullOr(Schema.String),
  lastValue: Schema.NullOr(Schema.Number),
  stateSince: Schema.NullOr(Schema.Date),
  lastNotificationError: Schema.NullOr(Schema.String)
}) {}
