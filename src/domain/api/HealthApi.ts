import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"

export class HealthReport extends Schema.Class<HealthReport>("HealthReport")({
  status: Schema.Literal("ok", "degraded"),
  uptimeSeconds: Schema.Number,
  database: Schema.Struct({ ok: Schema.Boolean, latencyMs: Schema.Number, embedded: Schema.Boolean }),
  cluster: Schema.Struct({
    ok: Schema.Boolean,
    mode: Schema.Literal("single", "runner", "client"),
    runner: Schema.String,
    ownedShards: Schema.Int
  }),
  // The processing watchdog (src/cluster/ProcessingWatchdog.ts): persisted entity requests due on this node's shards.
  processing: Schema.Struct({
    ok: Schema.Boolean,
    pendingMessages: Schema.Int,
    oldestPendingSeconds: Schema.Number,
    reason: Schema.optional(Schema.String)
  })
}) {}

export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(HealthReport)
      // Degraded is still a report: 503 lets load balancers take the node out.
      .addError(HealthReport, { status: 503 })
  )
  .annotate(OpenApi.Description, "Liveness and readiness: database, cluster and entity message processing status")
{}
