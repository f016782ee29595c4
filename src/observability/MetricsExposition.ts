import { ShardingConfig } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Effect, Metric, Option } from "effect"
import { type Family, familiesFromEffect, processFamilies, render } from "./Prometheus.ts"

/**
 * Everything GET /metrics shows, and what alert rules are evaluated against:
 * every Effect metric of the process, process CPU/memory, and cluster state
 * read from its SQL storage (messages in flight per entity type and shard).
 */
export class MetricsExposition extends Effect.Service<MetricsExposition>()("Observability/MetricsExposition", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const startedAt = Date.now() - process.uptime() * 1000
    const sharding = yield* Effect.serviceOption(ShardingConfig.ShardingConfig)
    const runner = Option.match(Option.flatMap(sharding, (c) => c.runnerAddress), {
      onNone: () => "local",
      onSome: (a) => `${a.host}:${a.port}`
    })

    const inFlight = sql<{ entityType: string; shardId: string; n: string | number }>`
      SELECT entity_type, shard_id, count(*) AS n FROM cluster_messages
      WHERE processed = false GROUP BY entity_type, shard_id`.pipe(
      Effect.map((rows): Array<Family> => [{
        name: "cluster_messages_in_flight",
        type: "gauge",
        help: "Persisted entity messages not yet processed, by entity type and shard",
        samples: rows.map((r) => ({
          name: "cluster_messages_in_flight",
          labels: { entity_type: r.entityType, shard: r.shardId, runner },
          value: Number(r.n)
        }))
      }]),
      // Before the cluster created its tables (or with another storage) there is nothing to count.
      Effect.catchAll(() => Effect.succeed([])),
      Effect.withTracerEnabled(false)
    )

    const families = Effect.gen(function*() {
      const effectFamilies = familiesFromEffect(yield* Metric.snapshot).map((f) =>
        // The cluster's own gauges (entities by type, shards, runners) are per process: say which runner.
        f.name.startsWith("effect_cluster_")
          ? { ...f, samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels, runner } })) }
          : f
      )
      return [...effectFamilies, ...(yield* inFlight), ...processFamilies(startedAt)]
    })

    return { families, text: Effect.map(families, render) } as const
  })
}) {}
