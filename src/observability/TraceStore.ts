import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import type { SpanRow } from "./SpanSink.ts"
import { StoredSpan } from "../domain/Trace.ts"

export interface SpanFilter {
  readonly traceId?: string | undefined
  readonly service?: string | undefined
  readonly operation?: string | undefined
  readonly status?: string | undefined
  readonly minDurationMs?: number | undefined
  readonly maxDurationMs?: number | undefined
  readonly from?: Date | undefined
  readonly to?: Date | undefined
  readonly limit: number
}

/**
 * Who may read which spans: `all` (a service principal) or the caller's
 * projects. A span with a project is visible to that project's members; a
 * platform span (no project: HTTP, SQL, cluster) is visible when its trace
 * holds a span of a visible project that this platform recorded itself —
 * ingested spans never open up someone else's trace.
 */
export type Visibility = { readonly _tag: "All" } | { readonly _tag: "Projects"; readonly ids: ReadonlyArray<string> }

const parseAttributes = (value: unknown): Record<string, unknown> => {
  if (typeof value === "string") {
    try {
      const parsed: unknown = JSON.parse(value)
      return parsed !== null && typeof parsed === "object" ? parsed as Record<string, unknown> : {}
    } catch {
      return {}
    }
  }
  return value !== null && typeof value === "object" ? value as Record<string, unknown> : {}
}

export class TraceStore extends Effect.Service<TraceStore>()("Observability/TraceStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Result-name transforms would camelCase the keys inside `attributes` (gen_ai.usage.input_tokens...).
    const raw = sql.withoutTransforms()

    const toSpan = (row: Record<string, unknown>) =>
      new StoredSpan({
        traceId: String(row.trace_id),
        spanId: String(row.span_id),
        parentSpanId: row.parent_span_id == null ? null : String(row.parent_span_id),
        service: String(row.service),
        operation: String(row.operation),
        kind: row.kind == null ? null : String(row.kind),
        status: String(row.status),
        startTime: row.start_time instanceof Date ? row.start_time : new Date(String(row.start_time)),
        durationMs: Number(row.duration_ms),
        attributes: parseAttributes(row.attributes),
        projectId: row.project_id == null ? null : String(row.project_id),
        source: String(row.source)
      })

    const visibleClause = (visibility: Visibility) => {
      if (visibility._tag === "All") return raw`TRUE`
      if (visibility.ids.length === 0) return raw`FALSE`
      return raw`(project_id IN ${raw.in(visibility.ids)} OR (project_id IS NULL AND source = 'internal' AND trace_id IN (
        SELECT trace_id FROM observability_traces WHERE project_id IN ${raw.in(visibility.ids)} AND source = 'internal')))`
    }

    // One JSON parameter for the whole batch rather than a multi-row VALUES list (12 parameters
    // a span, 6,000 for a batch of 500, a new statement text for every batch size): the embedded
    // database parsed and planned that list on every batch, 28 ms per 500 spans against 20 ms
    // this way, time its one session is held from every other statement (issue #19).
    const insert = (rows: ReadonlyArray<SpanRow>) =>
      rows.length === 0 ? Effect.void : sql`
        INSERT INTO observability_traces (trace_id, span_id, parent_span_id, service, operation, kind, status,
                                          start_time, duration_ms, attributes, project_id, source)
        SELECT trace_id, span_id, parent_span_id, service, operation, kind, status,
               start_time, duration_ms, attributes, project_id, source
        FROM jsonb_to_recordset(${spanRowsJson(rows)}::jsonb) AS r(
          trace_id text, span_id text, parent_span_id text, service text, operation text, kind text, status text,
          start_time timestamptz, duration_ms float8, attributes jsonb, project_id text, source text)`.pipe(Effect.asVoid)

    const search = (filter: SpanFilter, visibility: Visibility) => {
      const conditions = [visibleClause(visibility)]
      if (filter.traceId !== undefined) conditions.push(raw`trace_id = ${filter.traceId}`)
      if (filter.service !== undefined) conditions.push(raw`service = ${filter.service}`)
      if (filter.operation !== undefined) conditions.push(raw`operation = ${filter.operation}`)
      if (filter.status !== undefined) conditions.push(raw`status = ${filter.status}`)
      if (filter.minDurationMs !== undefined) conditions.push(raw`duration_ms >= ${filter.minDurationMs}`)
      if (filter.maxDurationMs !== undefined) conditions.push(raw`duration_ms <= ${filter.maxDurationMs}`)
      if (filter.from !== undefined) conditions.push(raw`start_time >= ${filter.from}`)
      if (filter.to !== undefined) conditions.push(raw`start_time <= ${filter.to}`)
      const order = filter.traceId !== undefined ? raw`ORDER BY start_time ASC` : raw`ORDER BY start_time DESC`
      return raw<Record<string, unknown>>`
        SELECT trace_id, span_id, parent_span_id, service, operation, kind, status, start_time, duration_ms,
               attributes, project_id, source
        FROM observability_traces WHERE ${raw.and(conditions)} ${order} LIMIT ${filter.limit}`.pipe(
        Effect.map((rows) => rows.map(toSpan))
      )
    }

    /** Bounded retention: older than `maxAgeHours`, then everything beyond the newest `maxRows`. */
    const prune = (maxRows: number, maxAgeHours: number) =>
      Effect.gen(function*() {
        const cutoff = new Date(Date.now() - maxAgeHours * 3_600_000)
        const [aged] = yield* sql<{ n: string | number }>`
          WITH d AS (DELETE FROM observability_traces WHERE start_time < ${cutoff} RETURNING 1) SELECT count(*) AS n FROM d`
        const [edge] = yield* sql<{ id: string | number }>`
          SELECT id FROM observability_traces ORDER BY id DESC OFFSET ${maxRows} LIMIT 1`
        if (edge === undefined) return Number(aged?.n ?? 0)
        const [overflow] = yield* sql<{ n: string | number }>`
          WITH d AS (DELETE FROM observability_traces WHERE id <= ${edge.id} RETURNING 1) SELECT count(*) AS n FROM d`
        return Number(aged?.n ?? 0) + Number(overflow?.n ?? 0)
      })

    /** Stored spans of the given projects (`"all"`: every span, the platform's own included). */
    const countIn = (projects: ReadonlyArray<string> | "all"): Effect.Effect<number, SqlError> => {
      if (projects !== "all" && projects.length === 0) return Effect.succeed(0)
      const where = projects === "all" ? sql`` : sql`WHERE project_id IN ${sql.in(projects)}`
      return sql<{ n: string | number }>`SELECT count(*) AS n FROM observability_traces ${where}`.pipe(
        Effect.map(([row]) => Number(row?.n ?? 0))
      )
    }

    const count = countIn("all")

    return { insert, search, prune, count, countIn } as const
  })
}) {}

// NUL, a high surrogate not followed by a low one, a low surrogate not after a high one.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/**
 * A string PostgreSQL's jsonb takes: a lone surrogate becomes U+FFFD, as the driver's UTF-8
 * encoding of a text parameter makes it, and so does NUL, which PostgreSQL cannot store. Spans
 * carry what clients sent (names, attributes, ingested spans): one such character must not fail
 * a batch that holds other tenants' spans.
 */
const storableString = (s: string) => s.replace(UNSTORABLE, "\uFFFD")

/** `value` with every string and key made storable, however deep. */
const storable = (value: unknown): unknown => {
  if (typeof value === "string") return storableString(value)
  if (Array.isArray(value)) return value.map(storable)
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableString(k), storable(v)]))
  }
  return value
}

/** `rows` as the JSON array the span INSERT reads (its columns' names; times as ISO strings). */
const spanRowsJson = (rows: ReadonlyArray<SpanRow>) =>
  JSON.stringify(rows.map((r) => storable({
    trace_id: r.traceId,
    span_id: r.spanId,
    parent_span_id: r.parentSpanId,
    service: r.service,
    operation: r.operation,
    kind: r.kind,
    status: r.status,
    start_time: r.startTime.toISOString(),
    duration_ms: r.durationMs,
    attributes: r.attributes,
    project_id: r.projectId,
    source: r.source
  })))
