import { Schema } from "effect"

export class StoredSpan extends Schema.Class<StoredSpan>("StoredSpan")({
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.NullOr(Schema.String),
  service: Schema.String,
  operation: Schema.String,
  kind: Schema.NullOr(Schema.String),
  status: Schema.String,
  startTime: Schema.Date,
  durationMs: Schema.Number,
  attributes: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  projectId: Schema.NullOr(Schema.String),
  source: Schema.String
}) {}
