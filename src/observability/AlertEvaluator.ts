import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Clock, Duration, Effect, ExecutionStrategy, Exit, Layer, Metric, Option, Schedule, Scope } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { AlertBaselines } from "./AlertBaselines.ts"
import { AlertRepo, type AlertStateRow } from "./AlertRepo.ts"
import { type AlertRule } from "../domain/Alert.ts"
import { AlertMetrics } from "./Metrics.ts"
import { MetricsExposition } from "./MetricsExposition.ts"
import { allSamples, type Sample } from "./Prometheus.ts"
import { ObservabilityConfig } from "./ObservabilityConfig.ts"
import { EgressHttpClientLive } from "../net/EgressHttpClient.ts"
import { EGRESS_REFUSED, EgressPolicy } from "../net/EgressPolicy.ts"

interface Point {
  readonly at: number
  readonly value: number
}

/**
 * Sum of the series of `rule.metric` whose labels include the rule's labels (null: no such series
 * yet). A metric recorded per project (a `project` label: LLM, tool and A2A counters) counts only
 * the rule's own project: one tenant's alert never sees another's traffic.
 */
export const currentValue = (
  rule: Pick<AlertRule, "metric" | "labels"> & { readonly projectId?: string },
  samples: ReadonlyArray<Sample>
) => {
  let sum = 0
  let found = false
  const perProject = rule.projectId !== undefined && samples.some((s) => s.name === rule.metric && "project" in s.labels)
  for (const s of samples) {
    if (s.name !== rule.metric) continue
    if (perProject && s.labels.project !== rule.projectId) continue
    if (!Object.entries(rule.labels).every(([k, v]) => s.labels[k] === v)) continue
    sum += s.value
    found = true
  }
  return found ? sum : null
}

/** The rule's value over its window, from the points sampled so far (oldest first, last = now). */
export const aggregate = (rule: Pick<AlertRule, "aggregation" | "windowSeconds">, points: ReadonlyArray<Point>) => {
  const last = points[points.length - 1]
  if (last === undefined) return null
  const start = last.at - rule.windowSeconds * 1000
  const inWindow = points.filter((p) => p.at >= start)
  // Baseline of increase/rate: the newest point at or before the window start, else the oldest seen.
  const baseline = [...points].reverse().find((p) => p.at <= start) ?? points[0]
  const values = inWindow.map((p) => p.value)
  switch (rule.aggregation) {
    case "last":
      return last.value
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length
    case "min":
      return Math.min(...values)
    case "max":
      return Math.max(...values)
    case "increase":
    case "rate": {
      // A counter that went down was reset (process restart): count from zero.
      const increase = last.value >= baseline.value ? last.value - baseline.value : last.value
      return rule.aggregation === "increase" ? increase : increase / rule.windowSeconds
    }
  }
}

export const breached = (comparison: AlertRule["comparison"], value: number, threshold: number) => {
  switch (comparison) {
    case "gt":
      return value > threshold
    case "gte":
      return value >= threshold
    case "lt":
      return value < threshold
    case "lte":
      return value <= threshold
    case "eq":
      return value === threshold
    case "neq":
      return value !== threshold
  }
}

/** Advisory-lock key of the alert evaluator ("alrt"). */
const EVALUATOR_LOCK = 0x616c7274

/**
 * Whether this process is the cluster's alert evaluator: on a shared Postgres
 * every node would otherwise evaluate the same rules and flap their state, so
 * the holder of a session advisory lock (on a connection reserved for it)
 * evaluates, and another node takes over when that session ends. The embedded
 * database is a single process: always the evaluator.
 */
export const makeLeadership = Effect.gen(function*() {
  const config = yield* AppConfig
  if (Option.isNone(config.databaseUrl)) return Effect.succeed(true)
  const sql = yield* SqlClient.SqlClient
  const scope = yield* Effect.scope
  let held: { readonly conn: Connection; readonly scope: Scope.CloseableScope } | undefined
  let leader = false
  const release = Effect.suspend(() => {
    const h = held
    held = undefined
    leader = false
    if (h === undefined) return Effect.void
    // The reserved connection goes back to the pool, not away: drop the session's lock first.
    return h.conn.execute("SELECT pg_advisory_unlock_all()", [], undefined).pipe(
      Effect.ignore,
      Effect.zipRight(Scope.close(h.scope, Exit.void))
    )
  })
  yield* Effect.addFinalizer(() => release)
  return Effect.gen(function*() {
    if (held === undefined) {
      const connScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const conn = yield* Scope.extend(sql.reserve, connScope)
      held = { conn, scope: connScope }
    }
    // Once acquired the lock is held by this session for good: check the session is still alive.
    const rows = yield* held.conn.execute(
      leader ? "SELECT true AS locked" : "SELECT pg_try_advisory_lock($1) AS locked",
      leader ? [] : [EVALUATOR_LOCK],
      undefined
    )
    leader = (rows[0] as { locked?: boolean } | undefined)?.locked === true
    return leader
  }).pipe(Effect.catchAll(() => Effect.as(release, false)))
})

/**
 * Evaluates every enabled rule each ALERT_EVAL_INTERVAL_MS against this
 * process's metrics. A rule that starts breaching opens an incident and POSTs
 * one `firing` notification; when it stops, one `resolved`. The state and what
 * the webhook was last told live in alert_states, so a restart neither repeats
 * nor loses a notification; a failed delivery is retried on the next tick.
 * One node of a cluster evaluates (see makeLeadership), against its own
 * process metrics plus the cluster-wide ones read from SQL.
 */
export const AlertEvaluatorLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* ObservabilityConfig
    const repo = yield* AlertRepo
    const exposition = yield* MetricsExposition
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const egress = yield* EgressPolicy
    const history = new Map<string, Array<Point>>()
    const baselines = yield* AlertBaselines
    const isLeader = yield* makeLeadership

    const notify = (rule: AlertRule, state: AlertStateRow, now: Date) =>
      HttpClientRequest.post(rule.webhookUrl).pipe(
        HttpClientRequest.setHeader("x-alert-incident", state.incidentId ?? ""),
        HttpClientRequest.bodyUnsafeJson({
          status: state.state === "firing" ? "firing" : "resolved",
          incidentId: state.incidentId,
          rule: {
            id: rule.id,
            projectId: rule.projectId,
            name: rule.name,
            metric: rule.metric,
            labels: rule.labels,
            aggregation: rule.aggregation,
            comparison: rule.comparison,
            threshold: rule.threshold,
            windowSeconds: rule.windowSeconds
          },
          value: state.value,
          startsAt: state.state === "firing" ? state.since.toISOString() : undefined,
          endsAt: state.state === "ok" ? state.since.toISOString() : undefined,
          evaluatedAt: now.toISOString()
        }),
        client.execute,
        Effect.scoped,
        // A webhook is a request of the rule's project: it takes a slot of that project's share of
        // outbound requests (EgressSlots.ts), so one project's alerts cannot hold everyone's.
        Effect.provideService(FetchHttpClient.Fetch, egress.fetchFor(rule.projectId)),
        Effect.timeout(Duration.millis(config.alertWebhookTimeoutMs)),
        Effect.as(null),
        // A refused or unreachable URL gets the egress policy's one text: no port scanning through alert rules.
        Effect.catchAll((e) =>
          Effect.succeed(e._tag === "RequestError" ? `webhook delivery failed: ${EGRESS_REFUSED}` : `${e._tag}: webhook delivery failed`)
        ),
        Effect.tap((error) =>
          Metric.increment(AlertMetrics.notifications).pipe(
            Effect.tagMetrics({
              status: state.state === "firing" ? "firing" : "resolved",
              outcome: error === null ? "delivered" : "failed"
            })
          )
        )
      )

    const evaluateRule = (rule: AlertRule, previous: AlertStateRow | undefined, samples: ReadonlyArray<Sample>) =>
      Effect.gen(function*() {
        // Effect's Clock, which also spaces the ticks: windows and `since` follow one (Test)Clock.
        const now = new Date(yield* Clock.currentTimeMillis)
        const points = history.get(rule.id) ?? []
        // A new rule's first point is the metric's value when it was saved, so `increase` counts
        // from the rule's creation, not from this tick.
        const baseline = yield* baselines.take(rule.id)
        if (points.length === 0 && baseline !== undefined && baseline.at <= now.getTime()) points.push(baseline)
        const observed = currentValue(rule, samples)
        // A counter series that does not exist yet has counted nothing: increase/rate start from 0.
        const value = observed === null && (rule.aggregation === "increase" || rule.aggregation === "rate") ? 0 : observed
        if (value !== null) points.push({ at: now.getTime(), value })
        // Keep the window plus one older point (the baseline of increase/rate).
        const start = now.getTime() - rule.windowSeconds * 1000
        while (points.length > 1 && points[1].at <= start) points.shift()
        history.set(rule.id, points)
        const aggregated = aggregate(rule, points)
        const firing = aggregated !== null && breached(rule.comparison, aggregated, rule.threshold)
        const prevState = previous?.state ?? "ok"
        const nextState = firing ? "firing" : "ok"
        const transitioned = nextState !== prevState
        const state: AlertStateRow = {
          ruleId: rule.id,
          state: nextState,
          incidentId: transitioned && firing ? crypto.randomUUID() : previous?.incidentId ?? null,
          value: aggregated,
          since: transitioned || previous === undefined ? now : previous.since,
          notifiedState: previous?.notifiedState ?? null,
          lastError: previous?.lastError ?? null
        }
        // Dedupe: one notification per state change. A rule that was never firing has nothing to resolve.
        const owed = state.notifiedState !== state.state && !(state.state === "ok" && state.notifiedState === null)
        if (!owed) return yield* repo.saveState(state)
        const error = yield* notify(rule, state, now)
        yield* repo.saveState({ ...state, notifiedState: error === null ? state.state : state.notifiedState, lastError: error })
        if (error !== null) {
          yield* Effect.logWarning("alert webhook failed").pipe(Effect.annotateLogs({ ruleId: rule.id, error }))
        }
      }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("alert evaluation failed", cause)))

    const tick = Effect.gen(function*() {
      if (!(yield* isLeader)) return history.clear()
      const rules = yield* repo.list("all", true)
      if (rules.length === 0) return
      const states = yield* repo.states
      const samples = allSamples(yield* exposition.families)
      for (const id of history.keys()) if (!rules.some((r) => r.id === id)) history.delete(id)
      yield* Effect.forEach(rules, (rule) => evaluateRule(rule, states.get(rule.id), samples), {
        concurrency: 8,
        discard: true
      })
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("alert tick failed", cause)),
      // Background work: its SQL would otherwise be a stream of one-span traces.
      Effect.withTracerEnabled(false)
    )

    yield* tick.pipe(Effect.repeat(Schedule.spaced(Duration.millis(config.alertEvalIntervalMs))), Effect.forkScoped)
  })
).pipe(Layer.provide([EgressHttpClientLive, AlertBaselines.Default]))
