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
import { groupForeignKeys, groupIndexes } from "./SchemaRows.ts"

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

  // The schema of a file a tenant may have filled with thousands of tables: read in the worker
  // process (three joined queries) under a timeout and a byte limit, not table by table here.
  const schemaLimits = { timeoutMs: 30_000, maxResultBytes: 16 * 1024 * 1024, maxValueBytes: 1024 * 1024 }
  const schemaQuery = (sql: string) => Effect.map(runner.run(sql, [], schemaLimits), (r) => r.rows)

  const introspect: Driver["introspect"] = Effect.gen(function*() {
    const userObjects = "m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'"
    const columns = yield* schemaQuery(
      `SELECT m.name AS tbl, m.type AS kind, p.name, p.type, p."notnull" AS nn, p.dflt_value, p.pk
       FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE ${userObjects} ORDER BY m.name, p.cid`
    )
    const fkRows = yield* schemaQuery(
      `SELECT m.name AS tbl, f.id, f."from" AS col, f."table" AS ref, f."to" AS ref_col
       FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE ${userObjects} ORDER BY m.name, f.id, f.seq`
    )
    const idxRows = yield* schemaQuery(
      `SELECT m.name AS tbl, il.name AS idx, il."unique" AS uniq, ii.name AS col
       FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii
       WHERE ${userObjects} ORDER BY m.name, il.seq, ii.seqno`
    )
    const indexes = groupIndexes(
      idxRows.map((i) => ({ table: String(i.tbl), index: String(i.idx), column: String(i.col), unique: Number(i.uniq) === 1 }))
    )
    const fks = groupForeignKeys(fkRows.map((f) => ({
      table: String(f.tbl),
      key: String(f.id),
      column: String(f.col),
      referencedTable: String(f.ref),
      referencedColumn: String(f.ref_col ?? "")
    })))
    const tables = new Map<string, { info: TableInfo; pk: Array<{ name: string; order: number }> }>()
    for (const c of columns) {
      const name = String(c.tbl)
      const table = tables.get(name) ?? {
        info: {
          schema: null,
          name,
          kind: c.kind === "view" ? "view" as const : "table" as const,
          columns: [],
          primaryKey: [],
          foreignKeys: [...(fks.get(name)?.values() ?? [])],
          indexes: [...(indexes.get(name)?.values() ?? [])]
        },
        pk: []
      }
      ;(table.info.columns as Array<TableInfo["columns"][number]>).push({
        name: String(c.name),
        type: String(c.type ?? ""),
        nullable: Number(c.nn) === 0 && Number(c.pk) === 0,
        default: c.dflt_value === null || c.dflt_value === undefined ? null : String(c.dflt_value),
        primaryKey: Number(c.pk) > 0
      })
      if (Number(c.pk) > 0) table.pk.push({ name: String(c.name), order: Number(c.pk) })
      tables.set(name, table)
    }
    return [...tables.values()].map(({ info, pk }) => ({
      ...info,
      primaryKey: pk.sort((a, b) => a.order - b.order).map((p) => p.name)
    }))
  })

  const ping: Driver["ping"] = q(reader, "SELECT 1").pipe(Effect.asVoid, Effect.mapError(mapSqlError(5_000)))

  return { read, write, explain, introspect, ping }
}
