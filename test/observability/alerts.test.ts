import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Metric, Option, TestClock } from "effect"
import { pgClientLayer } from "../../src/db/Database.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { EgressConfig, type EgressConfigShape } from "../../src/net/EgressConfig.ts"
import { EgressPolicy } from "../../src/net/EgressPolicy.ts"
import { AlertEvaluatorLive } from "../../src/observability/AlertEvaluator.ts"
import { AlertRepo } from "../../src/observability/AlertRepo.ts"
import { MetricsExposition } from "../../src/observability/MetricsExposition.ts"
import { ObservabilityConfig } from "../../src/observability/ObservabilityConfig.ts"
import coreTables from "../../sql/0001_core_tables.ts"
import observabilityTables from "../../sql/0080_observability.ts"
import { runTest } from "../support/effect.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { awaitParked, runNextTick } from "../support/testClock.ts"

/**
 * The alert evaluator on the TestClock: its ticks, windows and `since` are
 * driven tick by tick, against the real PostgreSQL (rules and states) and a
 * real webhook server on 127.0.0.1.
 */

const INTERVAL_MS = 15_000
const T0 = Date.parse("2026-01-01T00:00:00.000Z")
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString()

interface Notification {
  readonly status: "firing" | "resolved"
  readonly incidentId: string
  readonly value: number
  readonly startsAt?: string
  readonly endsAt?: string
  readonly evaluatedAt: string
  readonly rule: { readonly id: string; readonly projectId: string }
}

let db: Awaited<ReturnType<typeof createTestDatabase>>
let setup: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
let webhook: ReturnType<typeof Bun.serve>
const received: Array<Notification> = []
/** Deliveries answered 500 before the webhook starts accepting (per test). */
let failuresLeft = 0
/** Deliveries to /slow in flight at once per rule project, and the most seen. */
const slowInFlight = new Map<string, number>()
const slowMostInFlight = new Map<string, number>()

beforeAll(async () => {
  db = await createTestDatabase("alerts")
  setup = ManagedRuntime.make(pgClientLayer(db.url, 2))
  await setup.runPromise(Effect.zipRight(coreTables, observabilityTables))
  webhook = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = (await req.json()) as Notification
      if (new URL(req.url).pathname === "/slow") {
        const project = body.rule.projectId
        const inFlight = (slowInFlight.get(project) ?? 0) + 1
        slowInFlight.set(project, inFlight)
        slowMostInFlight.set(project, Math.max(slowMostInFlight.get(project) ?? 0, inFlight))
        await Bun.sleep(100)
        slowInFlight.set(project, (slowInFlight.get(project) ?? 1) - 1)
      }
      if (failuresLeft > 0) {
        failuresLeft--
        return new Response(null, { status: 500 })
      }
      received.push(body)
      return new Response(null, { status: 204 })
    }
  })
}, 30_000)
afterAll(async () => {
  webhook?.stop(true)
  await setup?.dispose()
  await db?.drop()
})
beforeEach(async () => {
  received.length = 0
  failuresLeft = 0
  slowMostInFlight.clear()
  await setup.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM alert_rules`))
})

/** The evaluator's dependencies, built inside the test (TestClock) so its ticker sleeps on the TestClock. */
const Services = (egress: Partial<EgressConfigShape> = {}) =>
  Layer.mergeAll(
    AlertRepo.Default,
    MetricsExposition.Default,
    // The webhook listens on loopback, which egress refuses unless admitted.
    EgressPolicy.Default.pipe(Layer.provide(EgressConfig.layerWith({ allow: ["127.0.0.1"], ...egress }))),
    ObservabilityConfig.layerWith({ alertEvalIntervalMs: INTERVAL_MS }),
    // No DATABASE_URL: a single process, always the evaluator.
    AppConfig.layerWith({ databaseUrl: Option.none() })
  ).pipe(
    Layer.provideMerge(pgClientLayer(db.url, 2)),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
    Layer.orDie
  )

/** A counter only this test writes to, and a rule over its increase. */
const ruleOver = (path: string, projectId = "p_alerts") =>
  Effect.gen(function*() {
    const run = crypto.randomUUID()
    const events = Metric.counter("alert_clock_test_events_total").pipe(Metric.tagged("run", run))
    const rule = yield* (yield* AlertRepo).create({
      projectId,
      name: "events burst",
      metric: "alert_clock_test_events_total",
      labels: { run },
      aggregation: "increase",
      comparison: "gte",
      threshold: 5,
      windowSeconds: 60,
      webhookUrl: `http://127.0.0.1:${webhook.port}${path}`,
      enabled: true
    })
    return { rule, events }
  })

/** Starts the evaluator at T0, waits for its first tick (the baseline), and returns a tick-by-tick driver. */
const startEvaluator = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  yield* Layer.build(AlertEvaluatorLive)
  yield* awaitParked(INTERVAL_MS)
  return () => runNextTick(INTERVAL_MS)
})

describe("alert evaluator on the TestClock", () => {
  test("fires once when the increase over the window crosses the threshold, resolves once when it leaves the window", () =>
    runTest(Effect.scoped(Effect.gen(function*() {
      const repo = yield* AlertRepo
      const { events, rule } = yield* ruleOver("/hook")
      const tick = yield* startEvaluator

      yield* Metric.incrementBy(events, 6)
      yield* tick() // T0 + 15 s
      expect(received).toMatchObject([{ status: "firing", value: 6, startsAt: at(15), evaluatedAt: at(15), rule: { id: rule.id } }])
      const firing = Option.getOrThrow(yield* repo.find(rule.id))
      expect(firing).toMatchObject({ state: "firing", incidentId: received[0].incidentId, lastValue: 6 })
      expect(firing.stateSince?.toISOString()).toBe(at(15))

      // The baseline (T0, 0) stays in the 60 s window through T0 + 60 s: still firing, not told again.
      for (let i = 0; i < 3; i++) yield* tick()
      expect(received).toHaveLength(1)
      expect(Option.getOrThrow(yield* repo.find(rule.id)).stateSince?.toISOString()).toBe(at(15))

      // T0 + 75 s: the window starts at the first tick that saw the 6: no increase left.
      yield* tick()
      expect(received).toHaveLength(2)
      expect(received[1]).toMatchObject({ status: "resolved", incidentId: received[0].incidentId, value: 0, endsAt: at(75) })
      expect(received[1].startsAt).toBeUndefined()
      yield* tick()
      expect(received).toHaveLength(2)
      expect(Option.getOrThrow(yield* repo.find(rule.id))).toMatchObject({ state: "ok", lastValue: 0 })
    })).pipe(Effect.provide(Services()))), 30_000)

  test("a failed webhook delivery is recorded and retried on the next tick, then not repeated", () =>
    runTest(Effect.scoped(Effect.gen(function*() {
      const repo = yield* AlertRepo
      const { events, rule } = yield* ruleOver("/flaky")
      const tick = yield* startEvaluator
      failuresLeft = 1

      yield* Metric.incrementBy(events, 5)
      yield* tick()
      expect(received).toEqual([])
      const failed = Option.getOrThrow(yield* repo.find(rule.id))
      expect(failed.state).toBe("firing")
      expect(failed.lastNotificationError).toContain("webhook delivery failed")

      yield* tick()
      // Delivered late, with the incident as it started (same id, same startsAt).
      expect(received).toMatchObject([{ status: "firing", incidentId: failed.incidentId, startsAt: at(15), evaluatedAt: at(30) }])
      expect(Option.getOrThrow(yield* repo.find(rule.id)).lastNotificationError).toBeNull()
      yield* tick()
      expect(received).toHaveLength(1)
    })).pipe(Effect.provide(Services()))), 30_000)

  test("webhooks are requests of their rule's project: they wait for its share of outbound requests", () =>
    runTest(Effect.scoped(Effect.gen(function*() {
      // Three rules of one project and one of another fire on the same tick; a project's share
      // of requests in flight is 1 (EGRESS_MAX_CONCURRENT_PER_TENANT), the webhook takes 100 ms.
      const rules = [
        yield* ruleOver("/slow", "p_noisy"),
        yield* ruleOver("/slow", "p_noisy"),
        yield* ruleOver("/slow", "p_noisy"),
        yield* ruleOver("/slow", "p_quiet")
      ]
      const tick = yield* startEvaluator
      for (const { events } of rules) yield* Metric.incrementBy(events, 5)
      yield* tick()
      expect(received.map((n) => n.status)).toEqual(["firing", "firing", "firing", "firing"])
      // One of p_noisy's at a time (without its share: all three at once).
      expect(slowMostInFlight.get("p_noisy")).toBe(1)
      expect(slowMostInFlight.get("p_quiet")).toBe(1)
    })).pipe(Effect.provide(Services({ maxConcurrentPerTenant: 1 })))), 30_000)
})
