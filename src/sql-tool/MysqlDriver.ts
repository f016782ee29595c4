import { type SqlClient, SqlError } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Effect } from "effect"
import type { PlanHint, TableInfo } from "../domain/SqlTool.ts"
import {
  cellBytes,
  checkResultSize,
  type Driver,
  hintMissingIndex,
  hintSeqScan,
  hintSort,
  hintTemporary,
  jsonRows,
  mapSqlError,
  resultTooLarge,
  withTimeoutBackstop
} from "./DriverSupport.ts"
import { groupForeignKeys, groupIndexes } from "./SchemaRows.ts"

/** MariaDB max_statement_time exceeded (1969), MySQL max_execution_time exceeded (3024). */
const TIMEOUT_ERRNOS = [1969, 3024, "ER_STATEMENT_TIMEOUT", "ER_QUERY_TIMEOUT"]

type Flavor = "mariadb" | "mysql"

/** The mysql2 connection under @effect/sql-mysql2's reserved Connection (its `conn` field). */
interface RawConnection {
  readonly execute: (options: { readonly sql: string; readonly values: ReadonlyArray<unknown> }) => {
    readonly on: (event: "result", listener: (row: Record<string, unknown>) => void) => void
    readonly once: (event: "error" | "end", listener: (arg?: unknown) => void) => void
  }
  /** Despite its name, mysql2's `destroy` only ends the socket's writing half (`stream.end()`). */
  readonly destroy: () => void
  /** The socket itself: destroying it closes the connection in both directions. */
  readonly stream?: { readonly destroy: () => void }
  /** COM_RESET_CONNECTION (mysql2 also forgets its prepared-statement cache). */
  readonly reset: (callback: (error: unknown) => void) => void
}

const rawConnection = (conn: Connection): RawConnection | undefined => {
  const raw = (conn as unknown as { readonly conn?: Partial<RawConnection> }).conn
  return raw && typeof raw.execute === "function" && typeof raw.destroy === "function" && typeof raw.reset === "function"
    ? raw as RawConnection
    : undefined
}

/**
 * A prepared statement whose rows are weighed as they arrive: past
 * `maxBytes` the connection is destroyed (the server stops sending; the
 * pool drops it) and the result is reported as too large. MySQL cannot weigh
 * a row on the server without naming its columns, so this bounds memory to
 * the limit plus one row (itself bounded by the server's max_allowed_packet).
 */
const executeWeighed = (conn: Connection, sql: string, params: ReadonlyArray<unknown>, maxBytes: number) => {
  const raw = rawConnection(conn)
  // Another @effect/sql-mysql2 layout: all rows first, then the same limit (checkResultSize).
  if (raw === undefined) return Effect.map(conn.execute(sql, params, undefined), (rows) => ({ rows, over: false }))
  return Effect.async<{ readonly rows: ReadonlyArray<Record<string, unknown>>; readonly over: boolean }, SqlError.SqlError>(
    (resume) => {
      const rows: Array<Record<string, unknown>> = []
      let total = 0
      let done = false
      const finish = (outcome: Effect.Effect<{ readonly rows: typeof rows; readonly over: boolean }, SqlError.SqlError>) => {
        if (done) return
        done = true
        resume(outcome)
      }
      const command = raw.execute({ sql, values: params })
      command.on("result", (row) => {
        if (done) return
        for (const [key, value] of Object.entries(row)) total += cellBytes(value) + key.length + 4
        if (total > maxBytes) {
          // `raw.destroy()` alone half-closes: the socket stayed open with megabytes unread and the
          // server went on producing rows, blocked "Writing to net", until the statement's own
          // timeout (measured: 30 s for a 16 MB-a-row SELECT cut off after 1 row). Closing the
          // socket makes the server's next write fail, which ends the statement at once.
          raw.destroy()
          raw.stream?.destroy()
          finish(Effect.succeed({ rows: [], over: true }))
        } else rows.push(row)
      })
      command.once("error", (cause) => finish(Effect.fail(new SqlError.SqlError({ cause, message: "Failed to execute statement" }))))
      command.once("end", () => finish(Effect.succeed({ rows, over: false })))
    }
  )
}

/**
 * MySQL and MariaDB. User statements go through `execute` (a server-side
 * prepared statement: one statement only, parameters bound by the server);
 * session settings through `query`. Read-only work runs in
 * START TRANSACTION READ ONLY with sql_select_limit and a statement timeout
 * (MariaDB max_statement_time, MySQL max_execution_time).
 */
export const makeMysqlDriver = (client: SqlClient.SqlClient, flavor: Flavor): Driver => {
  const control = (conn: Connection, sql: string) => conn.executeUnprepared(sql, [], undefined)
  const timeoutSetting = (ms: number) =>
    flavor === "mariadb"
      ? `max_statement_time = ${(Math.max(ms, 1) / 1000).toFixed(3)}`
      : `max_execution_time = ${Math.floor(ms)}`
  const timeoutReset = flavor === "mariadb" ? "max_statement_time = DEFAULT" : "max_execution_time = DEFAULT"

  const resetSession = (conn: Connection) => {
    const raw = rawConnection(conn)
    if (raw !== undefined) {
      return Effect.async<void>((resume) => {
        raw.reset(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    }
    return Effect.ignore(Effect.zipRight(
      control(conn, `SET SESSION ${timeoutReset}, SESSION sql_select_limit = DEFAULT`),
      control(conn, "SET SESSION TRANSACTION READ WRITE")
    )).pipe(Effect.zipRight(Effect.ignore(control(conn, "DO RELEASE_ALL_LOCKS()"))))
  }

  const inTransaction = <A>(
    options: { readonly readOnly: boolean; readonly commit: boolean; readonly timeoutMs: number; readonly rowCap?: number },
    body: (conn: Connection) => Effect.Effect<A, SqlError.SqlError>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const conn = yield* client.reserve
      const limit = options.rowCap === undefined ? "DEFAULT" : String(Math.floor(options.rowCap))
      yield* control(conn, `SET SESSION ${timeoutSetting(options.timeoutMs)}, SESSION sql_select_limit = ${limit}`)
      // Pool connections are reused, maybe by another tenant: the session goes back clean however
      // the body ends. COM_RESET_CONNECTION drops user variables, temporary tables, prepared
      // statements and user-level locks and puts every setting back; without access to it, the
      // settings changed here and the user locks are put back one by one.
      yield* Effect.addFinalizer(() => resetSession(conn))
      if (options.readOnly) {
        // START TRANSACTION READ ONLY alone does not stop DDL: it commits implicitly and runs
        // outside the transaction (measured on MariaDB 10.11). A read-only session refuses it.
        yield* control(conn, "SET SESSION TRANSACTION READ ONLY")
      }
      yield* control(conn, options.readOnly ? "START TRANSACTION READ ONLY" : "START TRANSACTION")
      let committed = false
      yield* Effect.addFinalizer(() => committed ? Effect.void : Effect.ignore(control(conn, "ROLLBACK")))
      const result = yield* body(conn)
      if (options.commit) {
        yield* control(conn, "COMMIT")
        committed = true
      }
      return result
    }))

  const read: Driver["read"] = (stmt, params, limits) =>
    inTransaction(
      { readOnly: true, commit: false, timeoutMs: limits.timeoutMs, rowCap: limits.maxRows + 1 },
      (conn) => executeWeighed(conn, stmt.text, params, limits.maxResultBytes)
    ).pipe(
      Effect.mapError(mapSqlError(limits.timeoutMs, TIMEOUT_ERRNOS)),
      Effect.flatMap(({ over, rows: raw }) => {
        if (over) return Effect.fail(resultTooLarge(limits.maxResultBytes))
        const rows = jsonRows(raw)
        const truncated = rows.length > limits.maxRows
        const kept = truncated ? rows.slice(0, limits.maxRows) : rows
        return Effect.as(checkResultSize(kept, limits), { columns: Object.keys(kept[0] ?? {}), rows: kept, rowCount: kept.length, truncated })
      }),
      withTimeoutBackstop(limits.timeoutMs)
    )

  const write: Driver["write"] = (stmt, params, limits) =>
    inTransaction(
      { readOnly: false, commit: true, timeoutMs: limits.timeoutMs },
      (conn) => conn.executeRaw(stmt.text, params)
    ).pipe(
      Effect.mapError(mapSqlError(limits.timeoutMs, TIMEOUT_ERRNOS)),
      Effect.flatMap((raw) => {
        if (Array.isArray(raw)) {
          const rows = jsonRows(raw)
          const kept = rows.slice(0, limits.maxRows)
          return Effect.as(checkResultSize(kept, limits), {
            columns: Object.keys(rows[0] ?? {}),
            rows: kept,
            rowCount: rows.length,
            truncated: rows.length > limits.maxRows
          })
        }
        const header = raw as { affectedRows?: number }
        return Effect.succeed({ columns: [], rows: [], rowCount: header.affectedRows ?? 0, truncated: false })
      }),
      withTimeoutBackstop(limits.timeoutMs)
    )

  const explain: Driver["explain"] = (stmt, params, options) =>
    // ANALYZE runs the statement: read-only like any read, so it cannot write whatever it is.
    inTransaction({ readOnly: true, commit: false, timeoutMs: options.timeoutMs }, (conn) =>
      // MariaDB's ANALYZE runs the statement and adds r_rows; MySQL 8 spells it EXPLAIN ANALYZE (a text tree).
      conn.execute(
        options.analyze ? (flavor === "mariadb" ? `ANALYZE ${stmt.text}` : `EXPLAIN ANALYZE ${stmt.text}`) : `EXPLAIN ${stmt.text}`,
        params,
        undefined
      )).pipe(
        Effect.map((raw) => {
          const plan = jsonRows(raw)
          return { plan, hints: mysqlHints(plan, options.largeTableRows) }
        }),
        Effect.mapError(mapSqlError(options.timeoutMs, TIMEOUT_ERRNOS)),
        withTimeoutBackstop(options.timeoutMs)
      )

  const introspect: Driver["introspect"] = inTransaction({ readOnly: true, commit: false, timeoutMs: 30_000 }, (conn) =>
    Effect.gen(function*() {
      const q = (sql: string) => conn.executeUnprepared(sql, [], undefined) as Effect.Effect<ReadonlyArray<Row>, SqlError.SqlError>
      const columns = yield* q(`
        SELECT c.TABLE_NAME AS tbl, t.TABLE_TYPE AS kind, c.COLUMN_NAME AS name, c.COLUMN_TYPE AS type,
               c.IS_NULLABLE AS nullable, c.COLUMN_DEFAULT AS dflt, c.COLUMN_KEY AS col_key
        FROM information_schema.COLUMNS c
        JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
        WHERE c.TABLE_SCHEMA = DATABASE() ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`)
      const stats = yield* q(`
        SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
      const refs = yield* q(`
        SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col,
               REFERENCED_TABLE_NAME AS ref_tbl, REFERENCED_COLUMN_NAME AS ref_col
        FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
        ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`)
      return assemble(columns, stats, refs)
    })).pipe(Effect.mapError(mapSqlError(30_000, TIMEOUT_ERRNOS)))

  const ping: Driver["ping"] = client.unsafe("SELECT 1").pipe(Effect.asVoid, Effect.mapError(mapSqlError(5_000)))

  return { read, write, explain, introspect, ping }
}

type Row = Record<string, unknown>

const mysqlHints = (plan: ReadonlyArray<Row>, largeTableRows: number) => {
  const hints: Array<PlanHint> = []
  for (const step of plan) {
    const table = step.table === null || step.table === undefined ? undefined : String(step.table)
    const rows = Number(step.r_rows ?? step.rows ?? 0)
    const extra = String(step.Extra ?? "")
    if (table && step.type === "ALL" && rows >= largeTableRows) {
      hints.push(hintSeqScan(table, rows))
      if (extra.includes("Using where") && (step.key === null || step.key === undefined)) {
        hints.push(hintMissingIndex(table, []))
      }
    }
    if (extra.includes("Using filesort") && rows >= largeTableRows) hints.push(hintSort(rows, table))
    if (extra.includes("Using temporary")) hints.push(hintTemporary(table))
  }
  return hints
}

const assemble = (
  columns: ReadonlyArray<Row>,
  stats: ReadonlyArray<Row>,
  refs: ReadonlyArray<Row>
): ReadonlyArray<TableInfo> => {
  const indexes = groupIndexes(
    stats.map((s) => ({ table: String(s.tbl), index: String(s.name), column: String(s.col), unique: Number(s.non_unique) === 0 }))
  )
  const fks = groupForeignKeys(refs.map((r) => ({
    table: String(r.tbl),
    key: String(r.name),
    column: String(r.col),
    referencedTable: String(r.ref_tbl),
    referencedColumn: String(r.ref_col)
  })))
  const tables = new Map<string, TableInfo>()
  for (const c of columns) {
    const name = String(c.tbl)
    const t = tables.get(name) ?? {
      schema: null,
      name,
      kind: String(c.kind).includes("VIEW") ? "view" as const : "table" as const,
      columns: [],
      primaryKey: indexes.get(name)?.get("PRIMARY")?.columns ?? [],
      foreignKeys: [...(fks.get(name)?.values() ?? [])],
      indexes: [...(indexes.get(name)?.values() ?? [])]
    }
    ;(t.columns as Array<TableInfo["columns"][number]>).push({
      name: String(c.name),
      type: String(c.type),
      nullable: c.nullable === "YES",
      default: c.dflt === null || c.dflt === undefined ? null : String(c.dflt),
      primaryKey: c.col_key === "PRI"
    })
    tables.set(name, t)
  }
  return [...tables.values()]
}
