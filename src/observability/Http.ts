import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect, Layer, Option } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { BadRequest, NotFound } from "../kernel/WireErrors.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { A2AFlowStore } from "./A2AFlowStore.ts"
import type { AlertRule } from "../domain/Alert.ts"
import { AlertBaselines } from "./AlertBaselines.ts"
import { currentValue } from "./AlertEvaluator.ts"
import { AlertRepo } from "./AlertRepo.ts"
import { DECLARED_SAMPLE_NAMES } from "./Metrics.ts"
import { allSamples, type Sample } from "./Prometheus.ts"
import { MetricsExposition } from "./MetricsExposition.ts"
import { SpanBuffer, type SpanRow } from "./SpanSink.ts"
import { TraceStore, type Visibility } from "./TraceStore.ts"
import { ObservabilityConfig } from "./ObservabilityConfig.ts"

/** Whose data the caller may read: one project (checked) or all of theirs; the service token sees everything. */
const visibility = (projectId: string | undefined) =>
  Effect.gen(function*() {
    if (projectId !== undefined) {
      yield* requireProjectRole(projectId, "viewer")
      return { _tag: "Projects", ids: [projectId] } satisfies Visibility
    }
    const user = yield* CurrentUser
    // The platform's own service token (not one acting on behalf of a user) reads every project.
    if (user.kind === "service" && user.userId === "service") return { _tag: "All" } satisfies Visibility
    return { _tag: "Projects", ids: yield* visibleProjectIds } satisfies Visibility
  })

const projectScope = (v: Visibility) => (v._tag === "All" ? "all" as const : v.ids)

const alertNotFound = () => new NotFound({ message: "alert rule not found" })

/** A rule of a project the caller is not a member of does not exist for them. */
const findRule = (repo: AlertRepo, id: string, minimum: "viewer" | "developer") =>
  repo.find(id).pipe(
    Effect.orDie,
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(alertNotFound()), onSome: Effect.succeed })),
    Effect.tap((rule) => requireProjectRole(rule.projectId, minimum, "alert rule"))
  )

export const ObservabilityHttpLive = HttpApiBuilder.group(PlatformApi, "observability", (handlers) =>
  Effect.gen(function*() {
    const config = yield* ObservabilityConfig
    const traces = yield* TraceStore
    const buffer = yield* SpanBuffer
    const flows = yield* A2AFlowStore
    const alerts = yield* AlertRepo
    const exposition = yield* MetricsExposition
    const baselines = yield* AlertBaselines
    const egress = yield* EgressPolicy

    /** Refused when saved, with the egress policy's one text; delivery checks again (DNS may change). */
    const webhookAllowed = (url: string) =>
      egress.check(url).pipe(
        Effect.mapError((e) => new BadRequest({ message: e.message, issues: [{ path: "webhookUrl", message: e.message }] }))
      )

    /**
     * A rule must watch a sample that exists (on /metrics now, or declared by the platform):
     * a misspelt name would never fire. Answers the current samples for the baseline.
     */
    const knownMetric = (metric: string) =>
      Effect.gen(function*() {
        const samples = allSamples(yield* exposition.families.pipe(Effect.orDie))
        if (DECLARED_SAMPLE_NAMES.includes(metric) || samples.some((s) => s.name === metric)) return samples
        const names = [...new Set([...DECLARED_SAMPLE_NAMES, ...samples.map((s) => s.name)])]
        const near = names.filter((n) => n.startsWith(metric.split("_")[0] ?? "")).slice(0, 5)
        return yield* new BadRequest({
          message: `unknown metric ${metric}${near.length > 0 ? `; did you mean ${near.join(", ")}?` : ""} (GET /metrics lists them)`,
          issues: [{ path: "metric", message: "not a sample name exposed on /metrics" }]
        })
      })

    const recordBaseline = (rule: AlertRule, samples: ReadonlyArray<Sample>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => baselines.record(rule.id, now, currentValue(rule, samples) ?? 0))

    return handlers
      .handle("health", () =>
        Effect.gen(function*() {
          // Counts of the caller's projects only (every project for the platform's service token);
          // droppedSpans is this node's buffer health, no tenant's data.
          const scope = projectScope(yield* Effect.orDie(visibility(undefined)))
          const stored = yield* traces.countIn(scope).pipe(Effect.option)
          const rules = yield* alerts.list(scope).pipe(Effect.option)
          return {
            status: Option.isSome(stored) && Option.isSome(rules) ? "ok" as const : "degraded" as const,
            serviceName: config.serviceName,
            otlpExport: Option.isSome(config.otlpEndpoint),
            storedSpans: Option.getOrElse(stored, () => 0),
            droppedSpans: buffer.dropped(),
            retention: { maxRows: config.traceRetentionMaxRows, maxAgeHours: config.traceRetentionMaxAgeHours },
            alerts: Option.match(rules, {
              onNone: () => ({ rules: 0, firing: 0 }),
              onSome: (r) => ({ rules: r.length, firing: r.filter((x) => x.state === "firing").length })
            })
          }
        }))
      .handle("listTraces", ({ urlParams }) =>
        Effect.gen(function*() {
          const v = yield* visibility(urlParams.projectId)
          const spans = yield* traces.search({ ...urlParams, limit: urlParams.limit ?? 100 }, v).pipe(Effect.orDie)
          return { spans, count: spans.length }
        }))
      .handle("getTrace", ({ path }) =>
        Effect.gen(function*() {
          const v = yield* visibility(undefined)
          const spans = /^[0-9a-f]{32}$/.test(path.traceId)
            ? yield* traces.search({ traceId: path.traceId, limit: 5000 }, v).pipe(Effect.orDie)
            : []
          if (spans.length === 0) return yield* Effect.fail(new NotFound({ message: "trace not found" }))
          return { spans, count: spans.length }
        }))
      .handle("ingestTraces", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          const rows = payload.spans.map((s): SpanRow => ({
            ...s,
            attributes: { ...s.attributes },
            projectId: payload.projectId,
            source: "ingested"
          }))
          yield* traces.insert(rows).pipe(Effect.orDie)
          return { accepted: rows.length }
        }))
      .handle("a2aFlows", ({ urlParams }) =>
        Effect.gen(function*() {
          const v = yield* visibility(urlParams.projectId)
          return yield* flows.graph({ ...urlParams, projectIds: projectScope(v) }).pipe(Effect.orDie)
        }))
      .handle("metrics", () => exposition.text.pipe(Effect.orDie))
      .handle("listAlerts", ({ urlParams }) =>
        Effect.gen(function*() {
          const v = yield* visibility(urlParams.projectId)
          return { rules: yield* alerts.list(projectScope(v)).pipe(Effect.orDie) }
        }))
      .handle("createAlert", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          yield* ensureQuota("alertRulesPerProject", payload.projectId)
          yield* webhookAllowed(payload.webhookUrl)
          const samples = yield* knownMetric(payload.metric)
          const rule = yield* alerts.create(payload).pipe(Effect.orDie)
          yield* recordBaseline(rule, samples)
          return rule
        }))
      .handle("getAlert", ({ path }) => findRule(alerts, path.id, "viewer"))
      .handle("updateAlert", ({ path, payload }) =>
        Effect.gen(function*() {
          const current = yield* findRule(alerts, path.id, "developer")
          if (payload.webhookUrl !== undefined) yield* webhookAllowed(payload.webhookUrl)
          const samples = yield* knownMetric(payload.metric ?? current.metric)
          const updated = yield* alerts.update(path.id, payload).pipe(Effect.orDie)
          const rule = yield* Option.match(updated, { onNone: () => Effect.fail(alertNotFound()), onSome: Effect.succeed })
          if (payload.metric !== undefined || payload.labels !== undefined) yield* recordBaseline(rule, samples)
          return rule
        }))
      .handle("deleteAlert", ({ path }) =>
        Effect.gen(function*() {
          yield* findRule(alerts, path.id, "developer")
          yield* alerts.remove(path.id).pipe(Effect.orDie)
        }))
  })).pipe(Layer.provide(Layer.mergeAll(A2AFlowStore.Default, AlertRepo.Default, MetricsExposition.Default, AlertBaselines.Default)))
