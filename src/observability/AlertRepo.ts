import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { CreateAlertRule, UpdateAlertRule, AlertRule } from "../domain/Alert.ts"

export interface AlertStateRow {
  readonly ruleId: string
  readonly state: "ok" | "firing"
  readonly incidentId: string | null
  readonly value: number | null
  readonly since: Date
  readonly notifiedState: string | null
  readonly lastError: string | null
}

const parseLabels = (v: unknown): Record<string, string> => {
  const o = typeof v === "string" ? JSON.parse(v) as unknown : v
  if (o === null || typeof o !== "object") return {}
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, String(x)]))
}

export class AlertRepo extends Effect.Service<AlertRepo>()("Observability/AlertRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // `labels` is user JSON: no key transforms on read.
    const raw = sql.withoutTransforms()

    const select = raw`
      SELECT r.*, s.state AS s_state, s.incident_id AS s_incident_id, s.value AS s_value, s.since AS s_since,
             s.last_error AS s_last_error
      FROM alert_rules r LEFT JOIN alert_states s ON s.rule_id = r.id`

    const toRule = (r: Record<string, any>) =>
      new AlertRule({
        id: r.id,
        projectId: r.project_id,
        name: r.name,
        metric: r.metric,
        labels: parseLabels(r.labels),
        aggregation: r.aggregation,
        comparison: r.comparison,
        threshold: Number(r.threshold),
        windowSeconds: Number(r.window_seconds),
        webhookUrl: r.webhook_url,
        enabled: Boolean(r.enabled),
        state: r.s_state === "firing" ? "firing" : "ok",
        incidentId: r.s_incident_id ?? null,
        lastValue: r.s_value == null ? null : Number(r.s_value),
        stateSince: r.s_since == null ? null : new Date(r.s_since),
        lastNotificationError: r.s_last_error ?? null
      })

    const list = (projectIds: ReadonlyArray<string> | "all", enabledOnly = false) => {
      const conditions = []
      if (projectIds !== "all") {
        conditions.push(projectIds.length === 0 ? raw`FALSE` : raw`r.project_id IN ${raw.in(projectIds)}`)
      }
      if (enabledOnly) conditions.push(raw`r.enabled`)
      const where = conditions.length > 0 ? raw`WHERE ${raw.and(conditions)}` : raw``
      return raw<Record<string, any>>`${select} ${where} ORDER BY r.created_at`.pipe(Effect.map((rows) => rows.map(toRule)))
    }

    const find = (id: string) =>
      raw<Record<string, any>>`${select} WHERE r.id = ${id}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRule))
      )

    const create = (input: typeof CreateAlertRule.Type) =>
      Effect.gen(function*() {
        const id = crypto.randomUUID()
        yield* raw`INSERT INTO alert_rules (id, project_id, name, metric, labels, aggregation, comparison, threshold,
            window_seconds, webhook_url, enabled)
          VALUES (${id}, ${input.projectId}, ${input.name}, ${input.metric}, ${JSON.stringify(input.labels)},
            ${input.aggregation}, ${input.comparison}, ${input.threshold}, ${input.windowSeconds}, ${input.webhookUrl},
            ${input.enabled})`
        return yield* find(id).pipe(Effect.flatMap(Effect.orDie))
      })

    const update = (id: string, patch: typeof UpdateAlertRule.Type) =>
      Effect.gen(function*() {
        const current = yield* find(id)
        if (Option.isNone(current)) return current
        const next = { ...current.value, ...patch }
        yield* raw`UPDATE alert_rules SET name = ${next.name}, metric = ${next.metric}, labels = ${JSON.stringify(next.labels)},
            aggregation = ${next.aggregation}, comparison = ${next.comparison}, threshold = ${next.threshold},
            window_seconds = ${next.windowSeconds}, webhook_url = ${next.webhookUrl}, enabled = ${next.enabled},
            updated_at = now()
          WHERE id = ${id}`
        return yield* find(id)
      })

    const remove = (id: string) =>
      raw<{ id: string }>`DELETE FROM alert_rules WHERE id = ${id} RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))

    const saveState = (s: AlertStateRow) =>
      raw`INSERT INTO alert_states (rule_id, state, incident_id, value, since, notified_state, notified_at, last_error, evaluated_at)
        VALUES (${s.ruleId}, ${s.state}, ${s.incidentId}, ${s.value}, ${s.since}, ${s.notifiedState},
          ${s.notifiedState === null ? null : new Date()}, ${s.lastError}, now())
        ON CONFLICT (rule_id) DO UPDATE SET state = EXCLUDED.state, incident_id = EXCLUDED.incident_id,
          value = EXCLUDED.value, since = EXCLUDED.since, notified_state = EXCLUDED.notified_state,
          notified_at = COALESCE(EXCLUDED.notified_at, alert_states.notified_at), last_error = EXCLUDED.last_error,
          evaluated_at = now()`.pipe(Effect.asVoid)

    const states = raw<Record<string, any>>`SELECT * FROM alert_states`.pipe(
      Effect.map((rows) =>
        new Map(rows.map((r): [string, AlertStateRow] => [r.rule_id, {
          ruleId: r.rule_id,
          state: r.state === "firing" ? "firing" : "ok",
          incidentId: r.incident_id ?? null,
          value: r.value == null ? null : Number(r.value),
          since: new Date(r.since),
          notifiedState: r.notified_state ?? null,
          lastError: r.last_error ?? null
        }]))
      )
    )

    return { list, find, create, update, remove, saveState, states } as const
  })
}) {}
