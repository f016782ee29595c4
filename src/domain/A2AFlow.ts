import { Schema } from "effect"

export const A2ANode = Schema.Struct({
  id: Schema.String,
  sent: Schema.Int,
  received: Schema.Int,
  errors: Schema.Int
})

export const A2AEdge = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  methods: Schema.Array(Schema.String),
  count: Schema.Int,
  errorCount: Schema.Int,
  p50Ms: Schema.Number,
  p95Ms: Schema.Number,
  avgMs: Schema.Number,
  lastAt: Schema.Date
})

export class A2AGraph extends Schema.Class<A2AGraph>("A2AGraph")({
  nodes: Schema.Array(A2ANode),
  edges: Schema.Array(A2AEdge),
  totalMessages: Schema.Int
}) {}
