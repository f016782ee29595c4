import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import {
  ConnectFailed,
  type PlanHint,
  QueryFailed,
  type SqlParam,
  StatementTimedOut,
  type TableInfo
} from "../domain/SqlTool.ts"
import type { GuardedStatement } from "./SqlGuard.ts"

export interface RunLimits {
  readonly maxRows: number
  readonly timeoutMs: number
  /** The whole result, as JSON text; see SQL_TOOL_MAX_RESULT_BYTES. */
  readonly maxResultBytes: number
  /** Any one value, as JSON text; see SQL_TOOL_MAX_VALUE_BYTES. */
  readonly maxValueBytes: number
}

export interface RawResult {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Record<string, unknown>>
  /** Rows returned, or rows affected by a write. */
  readonly rowCount: number
  readonly truncated: boolean
}

export interface RawPlan {
  readonly plan: unknown
  readonly hints: ReadonlyArray<PlanHint>
}

export type DriverError = QueryFailed | StatementTimedOut | ConnectFailed

/**
 * What each dialect implements over its @effect/sql client. `read` must be
 * read-only on the database side as well (read-only transaction or handle,
 * statement timeout, row cap), whatever the guard already decided.
 */
export interface Driver {
  readonly read: (stmt: GuardedStatement, params: ReadonlyArray<SqlParam>, limits: RunLimits) => Effect.Effect<RawResult, DriverError>
  readonly write: (stmt: GuardedStatement, params: ReadonlyArray<SqlParam>, limits: RunLimits) => Effect.Effect<RawResult, DriverError>
  readonly explain: (
    stmt: GuardedStatement,
    params: ReadonlyArray<SqlParam>,
    options: { readonly analyze: boolean; readonly timeoutMs: number; readonly largeTableRows: number }
  ) => Effect.Effect<RawPlan, DriverError>
  readonly introspect: Effect.Effect<ReadonlyArray<TableInfo>, DriverError>
  /** A trivial round trip: proves the pool can reach the server. */
  readonly ping: Effect.Effect<void, DriverError>
}

/** JSON-safe cell values: dates as ISO strings, bytes as hex, big integers as strings. */
export const jsonCell = (value: unknown): unknown => {
  if (value === null || value === undefined) return null
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`
  if (Array.isArray(value)) return value.map(jsonCell)
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonCell(v)]))
  }
  return value
}

export const jsonRows = (rows: ReadonlyArray<unknown>) =>
  rows.map((row) => jsonCell(row) as Record<string, unknown>)

export const resultTooLarge = (limit: number) =>
  new QueryFailed({
    message: `result exceeds ${limit} bytes (SQL_TOOL_MAX_RESULT_BYTES): select fewer rows or columns`,
    code: "result_too_large"
  })

export const valueTooLarge = (limit: number) =>
  new QueryFailed({
    message: `a value in the result exceeds ${limit} bytes (SQL_TOOL_MAX_VALUE_BYTES)`,
    code: "value_too_large"
  })

/** About the size of a JSON-safe cell as JSON text (strings counted in UTF-16 units, close enough for a limit). */
export const cellBytes = (value: unknown): number => {
  if (value === null || value === undefined) return 4
  if (typeof value === "string") return value.length + 2
  if (typeof value === "number" || typeof value === "boolean") return 8
  if (value instanceof Uint8Array) return value.byteLength * 2 + 4
  if (value instanceof Date || typeof value === "bigint") return 24
  return JSON.stringify(value)?.length ?? 4
}

/**
 * The byte limits over rows already in memory: the drivers bound what they
 * read before this (server-side weighing on PostgreSQL, per-row checks in the
 * SQLite worker); this is the last check before the result leaves, on every
 * engine.
 */
export const checkResultSize = (
  rows: ReadonlyArray<Record<string, unknown>>,
  limits: Pick<RunLimits, "maxResultBytes" | "maxValueBytes">
): Effect.Effect<void, QueryFailed> => {
  let total = 0
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      const size = cellBytes(value)
      if (size > limits.maxValueBytes) return Effect.fail(valueTooLarge(limits.maxValueBytes))
      total += size + key.length + 4
    }
    if (total > limits.maxResultBytes) return Effect.fail(resultTooLarge(limits.maxResultBytes))
  }
  return Effect.void
}

const connectCodes = new Set([
  "ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "EAI_AGAIN", "ESOCKET", "ELOGIN",
  "PROTOCOL_CONNECTION_LOST", "ER_ACCESS_DENIED_ERROR", "ER_BAD_DB_ERROR", "28P01", "28000", "3D000",
  "SQLITE_CANTOPEN"
])

const describeConnectCode = (code: string | undefined, message: string) => {
  // tedious reports every socket failure as ESOCKET; its message says which.
  if (code === "ESOCKET" && /could not connect|ECONNREFUSED/i.test(message)) return "connection refused"
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found"
    case "ETIMEDOUT":
      return "connection timed out"
    case "28P01":
    case "28000":
    case "ER_ACCESS_DENIED_ERROR":
    case "ELOGIN":
      return "authentication failed"
    case "3D000":
    case "ER_BAD_DB_ERROR":
      return "database does not exist"
    case "SQLITE_CANTOPEN":
      return "database file cannot be opened"
    default:
      return "connection failed"
  }
}

interface DriverCause {
  readonly code?: unknown
  readonly errno?: unknown
  readonly message?: unknown
  readonly sqlMessage?: unknown
  readonly errors?: unknown
}

const causeOf = (error: SqlError.SqlError): DriverCause => {
  const cause = error.cause as DriverCause | undefined
  // AggregateError (several addresses tried) carries the useful code on its members.
  if (cause && Array.isArray(cause.errors) && cause.errors.length > 0 && cause.code === undefined) {
    return cause.errors[0] as DriverCause
  }
  return cause ?? {}
}

/** Strips anything URL-shaped with credentials out of a driver message. */
const scrub = (text: string) => text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]*@[^\s'"]*/gi, "<connection string>")

export const connectFailed = (error: unknown) => {
  const cause = (error && typeof error === "object" && "cause" in error ? (error as SqlError.SqlError) : undefined)
  const inner = cause ? causeOf(cause) : {}
  return new ConnectFailed({
    reason: describeConnectCode(
      typeof inner.code === "string" ? inner.code : undefined,
      typeof inner.message === "string" ? inner.message : ""
    )
  })
}

/** A driver failure as the caller should see it; `timeoutCodes` mark statement timeouts. */
export const mapSqlError = (timeoutMs: number, timeoutCodes: ReadonlyArray<string | number> = []) =>
(error: SqlError.SqlError): DriverError => {
  const cause = causeOf(error)
  const code = typeof cause.code === "string" ? cause.code : undefined
  if (timeoutCodes.includes(code ?? "") || timeoutCodes.includes(Number(cause.errno))) {
    return new StatementTimedOut({ timeoutMs })
  }
  if (code !== undefined && connectCodes.has(code)) return connectFailed(error)
  const text = typeof cause.sqlMessage === "string"
    ? cause.sqlMessage
    : typeof cause.message === "string"
    ? cause.message
    : error.message
  return new QueryFailed({ message: scrub(text).slice(0, 1000), code })
}

/** Identifier names used in a filter expression (`(email = 'x'::text)` → email). */
export const filterColumns = (filter: string) => {
  const names = new Set<string>()
  for (const m of filter.matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)"?\)?(?:::[a-z ]+)?\s*(?:=|<>|!=|<=|>=|<|>|~~\*?|!~~|\bIS\b|\bIN\b|\bLIKE\b)/gi)) {
    names.add(m[1])
  }
  return [...names]
}

export const hintSeqScan = (table: string, rows: number): PlanHint => ({
  kind: "seq_scan_large_table",
  table,
  message: `Full (sequential) scan of ${table}, about ${Math.round(rows)} rows: every row is read.`
})

export const hintMissingIndex = (table: string, columns: ReadonlyArray<string>): PlanHint => ({
  kind: "missing_index",
  table,
  message: columns.length > 0
    ? `No index is used to filter ${table} on ${columns.join(", ")}; an index on (${columns.join(", ")}) would avoid reading the whole table.`
    : `${table} is filtered without an index; an index on the filtered columns would avoid reading the whole table.`
})

export const hintSort = (rows: number, where?: string): PlanHint => ({
  kind: "large_sort",
  ...(where ? { table: where } : {}),
  message: `The result (about ${Math.round(rows)} rows) is sorted in memory or on disk; an index matching the ORDER BY would return rows already sorted.`
})

export const hintTemporary = (table?: string): PlanHint => ({
  kind: "temporary_table",
  ...(table ? { table } : {}),
  message: "A temporary table is built (GROUP BY / DISTINCT / UNION without a usable index)."
})

export const withTimeoutBackstop = (timeoutMs: number) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  // The database enforces the timeout; this backstop only covers a server that ignores it.
  Effect.timeoutFail(effect, {
    duration: timeoutMs + 2_000,
    onTimeout: () => new StatementTimedOut({ timeoutMs })
  })
