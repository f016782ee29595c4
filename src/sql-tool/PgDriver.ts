import type { SqlClient, SqlError } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Effect } from "effect"
import type { PlanHint, TableInfo } from "../domain/SqlTool.ts"
import {
  checkResultSize,
  type Driver,
  filterColumns,
  hintMissingIndex,
  hintSeqScan,
  hintSort,
  jsonRows,
  mapSqlError,
  resultTooLarge,
  withTimeoutBackstop
} from "./DriverSupport.ts"
import type { GuardedStatement } from "./SqlGuard.ts"

interface PgResult {
  readonly rows: ReadonlyArray<Record<string, unknown>>
  readonly fields?: ReadonlyArray<{ readonly name: string }>
  readonly rowCount?: number | null
}

const raw = (conn: Connection, sql: string, params: ReadonlyArray<unknown> = []) =>
  Effect.map(conn.executeRaw(sql, params), (r) => r as PgResult)

const QUERY_CANCELED = "57014"

/**
 * A reserved connection inside a transaction that always ends: ROLLBACK
 * unless `commit` and the body succeeded. Read transactions are READ ONLY
 * with a statement timeout, so the server refuses writes a guard missed.
 * Whatever the body did to the session (advisory locks, settings, LISTEN,
 * prepared statements, temp tables) is dropped with DISCARD ALL before the
 * connection goes back to the pool: the next caller, maybe another tenant,
 * gets a clean session.
 */
const inTransaction = <A>(
  client: SqlClient.SqlClient,
  options: { readonly readOnly: boolean; readonly commit: boolean; readonly timeoutMs: number },
  body: (conn: Connection) => Effect.Effect<A, SqlError.SqlError>
) =>
  Effect.scoped(Effect.gen(function*() {
    const conn = yield* client.reserve
    // Registered first, so it runs last: after the ROLLBACK below (DISCARD cannot run in a transaction).
    yield* Effect.addFinalizer(() => Effect.ignore(raw(conn, "DISCARD ALL")))
    yield* raw(conn, options.readOnly ? "BEGIN TRANSACTION READ ONLY" : "BEGIN")
    let committed = false
    yield* Effect.addFinalizer(() => committed ? Effect.void : Effect.ignore(raw(conn, "ROLLBACK")))
    yield* raw(conn, `SET LOCAL statement_timeout = ${Math.floor(options.timeoutMs)}`)
    yield* raw(conn, `SET LOCAL lock_timeout = ${Math.floor(options.timeoutMs)}`)
    // libpg-query reads strings the standard way; make the server agree.
    yield* raw(conn, "SET LOCAL standard_conforming_strings = on")
    const result = yield* body(conn)
    if (options.commit) {
      yield* raw(conn, "COMMIT")
      committed = true
    }
    return result
  }))

const BYTES_COLUMN = "sql_tool_result_bytes"

/**
 * The user's query wrapped so the SERVER weighs each row (the text form of
 * the whole row, as it would travel) and sends the values of a row only while
 * the running total stays within the byte limit; past it, rows come back as
 * NULLs with their running total, which the driver reports as too large.
 * A 200 MB cell therefore never crosses the wire into this process. Only the
 * columns of the measured record are returned, so what is weighed is exactly
 * what is sent. Parameters: the user's, then the row cap, then the byte limit.
 */
const sizedSelect = (text: string, paramCount: number) => `SELECT sql_tool_row.*, sql_tool_sized.${BYTES_COLUMN}
FROM (
  SELECT sql_tool_result AS sql_tool_record,
         sum(octet_length(sql_tool_result::text)) OVER (ROWS UNBOUNDED PRECEDING) AS ${BYTES_COLUMN}
  FROM (\n${text}\n) AS sql_tool_result
  LIMIT $${paramCount + 1}
) AS sql_tool_sized
LEFT JOIN LATERAL (
  SELECT (sql_tool_sized.sql_tool_record).* WHERE sql_tool_sized.${BYTES_COLUMN} <= $${paramCount + 2}
) AS sql_tool_row ON true`

interface PlanNode {
  readonly "Node Type"?: string
  readonly "Relation Name"?: string
  readonly Schema?: string
  readonly Filter?: string
  readonly "Plan Rows"?: number
  readonly "Actual Rows"?: number
  readonly Plans?: ReadonlyArray<PlanNode>
}

const walkPlan = (node: PlanNode, visit: (n: PlanNode) => void) => {
  visit(node)
  for (const child of node.Plans ?? []) walkPlan(child, visit)
}

export const makePgDriver = (client: SqlClient.SqlClient): Driver => {
  const read: Driver["read"] = (stmt, params, limits) =>
    inTransaction(client, { readOnly: true, commit: false, timeoutMs: limits.timeoutMs }, (conn) =>
      // Row cap and byte limit are bound parameters: the statement always goes through the
      // extended protocol, where the server itself refuses a second statement.
      stmt.isSelect
        ? raw(conn, sizedSelect(stmt.text, params.length), [...params, limits.maxRows + 1, limits.maxResultBytes])
        // Only reachable when the guard is bypassed (tests of the database wall): run as-is, read-only.
        : raw(conn, stmt.text, params)).pipe(
        Effect.mapError(mapSqlError(limits.timeoutMs, [QUERY_CANCELED])),
        Effect.flatMap((res) => {
          if (res.rows.some((r) => Number(r[BYTES_COLUMN]) > limits.maxResultBytes)) {
            return Effect.fail(resultTooLarge(limits.maxResultBytes))
          }
          const rows = jsonRows(res.rows.map(({ [BYTES_COLUMN]: _, ...row }) => row))
          const truncated = rows.length > limits.maxRows
          const kept = truncated ? rows.slice(0, limits.maxRows) : rows
          return Effect.as(checkResultSize(kept, limits), {
            columns: (res.fields ?? []).map((f) => f.name).filter((n) => n !== BYTES_COLUMN),
            rows: kept,
            rowCount: kept.length,
            truncated
          })
        }),
        withTimeoutBackstop(limits.timeoutMs)
      )

  const write: Driver["write"] = (stmt, params, limits) =>
    inTransaction(client, { readOnly: false, commit: true, timeoutMs: limits.timeoutMs }, (conn) =>
      raw(conn, stmt.text, params)).pipe(
        Effect.mapError(mapSqlError(limits.timeoutMs, [QUERY_CANCELED])),
        Effect.flatMap((res) => {
          const rows = jsonRows(res.rows ?? [])
          const kept = rows.slice(0, limits.maxRows)
          return Effect.as(checkResultSize(kept, limits), {
            columns: (res.fields ?? []).map((f) => f.name),
            rows: kept,
            rowCount: res.rowCount ?? rows.length,
            truncated: rows.length > limits.maxRows
          })
        }),
        withTimeoutBackstop(limits.timeoutMs)
      )

  const explain: Driver["explain"] = (stmt, params, options) =>
    // ANALYZE runs the statement: read-only like any read, so it cannot write whatever it is.
    inTransaction(client, { readOnly: true, commit: false, timeoutMs: options.timeoutMs }, (conn) =>
      Effect.gen(function*() {
        const format = options.analyze ? "ANALYZE, BUFFERS, FORMAT JSON" : "FORMAT JSON"
        const res = yield* raw(conn, `EXPLAIN (${format}) ${stmt.text}`, params)
        const plan = res.rows[0]?.["QUERY PLAN"] as ReadonlyArray<{ readonly Plan: PlanNode }>
        const hints = yield* planHints(conn, plan[0].Plan, options.largeTableRows)
        return { plan, hints }
      })).pipe(
        Effect.mapError(mapSqlError(options.timeoutMs, [QUERY_CANCELED])),
        withTimeoutBackstop(options.timeoutMs)
      )

  const planHints = (conn: Connection, root: PlanNode, largeTableRows: number) =>
    Effect.gen(function*() {
      const hints: Array<PlanHint> = []
      const scans: Array<PlanNode> = []
      const sorts: Array<PlanNode> = []
      walkPlan(root, (n) => {
        if (n["Node Type"] === "Seq Scan" && n["Relation Name"]) scans.push(n)
        if (n["Node Type"] === "Sort") sorts.push(n)
      })
      for (const scan of scans) {
        const table = `${scan.Schema ?? "public"}.${scan["Relation Name"]}`
        const stats = yield* raw(
          conn,
          `SELECT GREATEST(c.reltuples, 0)::float8 AS estimate,
                  ARRAY(SELECT a.attname::text FROM pg_index i
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                        WHERE i.indrelid = c.oid) AS leading
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname = $2`,
          [scan.Schema ?? "public", scan["Relation Name"]]
        )
        const estimate = Math.max(Number(stats.rows[0]?.estimate ?? 0), scan["Actual Rows"] ?? 0, scan["Plan Rows"] ?? 0)
        if (estimate < largeTableRows) continue
        hints.push(hintSeqScan(table, estimate))
        if (scan.Filter) {
          const leading = new Set((stats.rows[0]?.leading as ReadonlyArray<string> | undefined) ?? [])
          const unindexed = filterColumns(scan.Filter).filter((c) => !leading.has(c))
          if (unindexed.length > 0) hints.push(hintMissingIndex(table, unindexed))
        }
      }
      for (const sort of sorts) {
        const rows = sort["Actual Rows"] ?? sort["Plan Rows"] ?? 0
        if (rows >= largeTableRows) hints.push(hintSort(rows))
      }
      return hints
    })

  const introspect: Driver["introspect"] = inTransaction(client, { readOnly: true, commit: false, timeoutMs: 30_000 }, (conn) =>
    Effect.gen(function*() {
      const columns = yield* raw(conn, `
        SELECT c.table_schema AS schema, c.table_name AS table, t.table_type AS kind, c.column_name AS name,
               c.data_type AS type, c.is_nullable = 'YES' AS nullable, c.column_default AS dflt
        FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY c.table_schema, c.table_name, c.ordinal_position`)
      const constraints = yield* raw(conn, `
        SELECT con.contype AS kind, n.nspname AS schema, cl.relname AS table,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
               rn.nspname AS ref_schema, rcl.relname AS ref_table,
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
        LEFT JOIN pg_class rcl ON rcl.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rcl.relnamespace
        WHERE con.contype IN ('p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
      const indexes = yield* raw(conn, `
        SELECT n.nspname AS schema, t.relname AS table, i.relname AS name, ix.indisunique AS unique,
               ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
        FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`)
      return assembleTables(columns.rows, constraints.rows, indexes.rows)
    })).pipe(Effect.mapError(mapSqlError(30_000, [QUERY_CANCELED])))

  const ping: Driver["ping"] = client.unsafe("SELECT 1").pipe(Effect.asVoid, Effect.mapError(mapSqlError(5_000)))

  return { read, write, explain, introspect, ping }
}

type Row = Record<string, unknown>

const assembleTables = (
  columns: ReadonlyArray<Row>,
  constraints: ReadonlyArray<Row>,
  indexes: ReadonlyArray<Row>
): ReadonlyArray<TableInfo> => {
  const key = (r: Row) => `${r.schema}.${r.table}`
  const pks = new Map<string, ReadonlyArray<string>>()
  const fks = new Map<string, Array<TableInfo["foreignKeys"][number]>>()
  for (const c of constraints) {
    if (c.kind === "p") pks.set(key(c), c.columns as Array<string>)
    else {
      const list = fks.get(key(c)) ?? []
      list.push({
        columns: c.columns as Array<string>,
        referencedTable: `${c.ref_schema}.${c.ref_table}`,
        referencedColumns: c.ref_columns as Array<string>
      })
      fks.set(key(c), list)
    }
  }
  const idx = new Map<string, Array<TableInfo["indexes"][number]>>()
  for (const i of indexes) {
    const list = idx.get(key(i)) ?? []
    list.push({ name: String(i.name), columns: i.columns as Array<string>, unique: Boolean(i.unique) })
    idx.set(key(i), list)
  }
  const tables = new Map<string, { -readonly [K in keyof TableInfo]: TableInfo[K] }>()
  for (const c of columns) {
    const k = key(c)
    let t = tables.get(k)
    if (!t) {
      const primaryKey = pks.get(k) ?? []
      t = {
        schema: String(c.schema),
        name: String(c.table),
        kind: c.kind === "VIEW" ? "view" : "table",
        columns: [],
        primaryKey,
        foreignKeys: fks.get(k) ?? [],
        indexes: idx.get(k) ?? []
      }
      tables.set(k, t)
    }
    ;(t.columns as Array<TableInfo["columns"][number]>).push({
      name: String(c.name),
      type: String(c.type),
      nullable: Boolean(c.nullable),
      default: c.dflt === null || c.dflt === undefined ? null : String(c.dflt),
      primaryKey: t.primaryKey.includes(String(c.name))
    })
  }
  return [...tables.values()]
}
