import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { BunSqliteClient } from "./BunSqliteClient.ts"
import type { SqliteWorkerRunner } from "./SqliteWorkerRunner.ts"
import { type PlanHint, QueryFailed, type TableInfo } from "../domain/SqlTool.ts"
import {
  checkResultSize,
  type Driver,
  hintMissingIndex,
  hintSeqScan,
  hintSort,
  hintTemporary,
  jsonRows,
  mapSqlError
} from "./DriverSupport.ts"

const quoteIdent = (name: string) => `"${name.replaceAll("\"", "\"\"")}"`

/**
 * SQLite. User reads run in a child process on a fresh handle opened
 * SQLITE_OPEN_READONLY with `query_only`, after SQLite's own
 * sqlite3_stmt_readonly verdict; the process is killed at the statement
 * timeout. Schema and EXPLAIN use a read-only handle on this thread (bounded
 * work); writes (admins, writable connections) run in the same child process
 * on a read-write handle in a transaction, with the same timeout.
 */
export const makeSqliteDriver = (
  reader: BunSqliteClient,
  writer: BunSqliteClient | undefined,
  runner: SqliteWorkerRunner
): Driver => {
  const q = (client: BunSqliteClient, sql: string, params: ReadonlyArray<unknown> = []) =>
    client.unsafe<Record<string, unknown>>(sql, params)

  const read: Driver["read"] = (stmt, params, limits) =>
    Effect.gen(function*() {
      const wrapped = stmt.isSelect ? `SELECT * FROM (\n${stmt.text}\n) LIMIT ?` : stmt.text
      // Off the main thread, so the statement timeout can stop it (see SqliteWorkerRunner).
      // The child weighs rows as it reads them: an oversized result never reaches this process.
      const { rows: raw } = yield* runner.run(wrapped, stmt.isSelect ? [...params, limits.maxRows + 1] : params, limits)
      const rows = jsonRows(raw)
      const truncated = rows.length > limits.maxRows
      const kept = truncated ? rows.slice(0, limits.maxRows) : rows
      yield* checkResultSize(kept, limits)
      return { columns: Object.keys(kept[0] ?? {}), rows: kept, rowCount: kept.length, truncated }
    })

  const write: Driver["write"] = (stmt, params, limits) =>
    writer === undefined
      ? Effect.fail(new QueryFailed({ message: "connection is not writable" }))
      // In the worker process too: a write has the same statement timeout as a read.
      : Effect.gen(function*() {
        const { changes, rows: raw } = yield* runner.run(stmt.text, params, limits, "write")
        const rows = jsonRows(raw)
        const kept = rows.slice(0, limits.maxRows)
        yield* checkResultSize(kept, limits)
        return {
          columns: Object.keys(rows[0] ?? {}),
          rows: kept,
          rowCount: rows.length > 0 ? rows.length : changes,
          truncated: rows.length > limits.maxRows
        }
      })

  const explain: Driver["explain"] = (stmt, params, options) =>
    options.analyze
      ? Effect.fail(new QueryFailed({ message: "EXPLAIN ANALYZE is not available for SQLite; use EXPLAIN QUERY PLAN" }))
      : Effect.gen(function*() {
        const plan = jsonRows(yield* q(reader, `EXPLAIN QUERY PLAN ${stmt.text}`, params))
        const hints: Array<PlanHint> = []
        const filtered = /\bwhere\b/i.test(stmt.text)
        for (const step of plan) {
          const detail = String(step.detail ?? "")
          const scan = /^SCAN (?:TABLE )?("?)([^\s"]+)\1/.exec(detail)
          if (scan && !/USING (COVERING )?INDEX/.test(detail)) {
            const table = scan[2]
            // count(*) reads the whole table: in the worker process, not on this event loop.
            const count = yield* runner.run(`SELECT count(*) AS n FROM ${quoteIdent(table)}`, [], {
              timeoutMs: Math.min(options.timeoutMs, 5_000),
              maxResultBytes: 1_024,
              maxValueBytes: 1_024
            }).pipe(
              Effect.map((r) => Number(r.rows[0]?.n ?? 0)),
              Effect.orElseSucceed(() => 0)
            )
            if (count >= options.largeTableRows) {
              hints.push(hintSeqScan(table, count))
              if (filtered) hints.push(hintMissingIndex(table, []))
            }
          }
          if (/USE TEMP B-TREE FOR (ORDER BY|.*ORDER BY)/.test(detail)) hints.push(hintSort(0))
          if (/USE TEMP B-TREE FOR (GROUP BY|DISTINCT)/.test(detail)) hints.push(hintTemporary())
        }
        return { plan, hints }
      }).pipe(Effect.mapError((e) => e instanceof QueryFailed ? e : mapSqlError(options.timeoutMs)(e as SqlError.SqlError)))

  const introspect: Driver["introspect"] = Effect.gen(function*() {
    const objects = yield* q(
      reader,
      "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    const tables: Array<TableInfo> = []
    for (const o of objects) {
      const name = String(o.name)
      const cols = yield* q(reader, "SELECT name, type, \"notnull\" AS nn, dflt_value, pk FROM pragma_table_info(?)", [name])
      const fkRows = yield* q(reader, "SELECT id, \"from\" AS col, \"table\" AS ref, \"to\" AS ref_col FROM pragma_foreign_key_list(?) ORDER BY id, seq", [name])
      const idxRows = yield* q(reader, "SELECT name, \"unique\" AS uniq FROM pragma_index_list(?)", [name])
      const indexes: Array<TableInfo["indexes"][number]> = []
      for (const i of idxRows) {
        const parts = yield* q(reader, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [String(i.name)])
        indexes.push({ name: String(i.name), columns: parts.map((p) => String(p.name)), unique: Number(i.uniq) === 1 })
      }
      const fks = new Map<number, { columns: Array<string>; referencedTable: string; referencedColumns: Array<string> }>()
      for (const f of fkRows) {
        const entry = fks.get(Number(f.id)) ?? { columns: [], referencedTable: String(f.ref), referencedColumns: [] }
        entry.columns.push(String(f.col))
        entry.referencedColumns.push(String(f.ref_col ?? ""))
        fks.set(Number(f.id), entry)
      }
      const pk = cols.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk)).map((c) => String(c.name))
      tables.push({
        schema: null,
        name,
        kind: o.type === "view" ? "view" : "table",
        columns: cols.map((c) => ({
          name: String(c.name),
          type: String(c.type ?? ""),
          nullable: Number(c.nn) === 0 && Number(c.pk) === 0,
          default: c.dflt_value === null || c.dflt_value === undefined ? null : String(c.dflt_value),
          primaryKey: Number(c.pk) > 0
        })),
        primaryKey: pk,
        foreignKeys: [...fks.values()],
        indexes
      })
    }
    return tables
  }).pipe(Effect.mapError(mapSqlError(30_000)))

  const ping: Driver["ping"] = q(reader, "SELECT 1").pipe(Effect.asVoid, Effect.mapError(mapSqlError(5_000)))

  return { read, write, explain, introspect, ping }
}
