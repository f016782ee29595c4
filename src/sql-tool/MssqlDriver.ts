import type { SqlClient, SqlError } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Effect } from "effect"
import { QueryFailed, type TableInfo } from "../domain/SqlTool.ts"
import { checkResultSize, type Driver, jsonRows, mapSqlError, withTimeoutBackstop } from "./DriverSupport.ts"

/**
 * SQL Server through @effect/sql-mssql (tedious). SQL Server has no
 * read-only transaction, so read work runs in a transaction that is always
 * rolled back, with SET ROWCOUNT as the row cap and LOCK_TIMEOUT bounding
 * waits. No server is available on the build machine: only the connection
 * path (a clear "connection refused") is exercised by tests.
 */
export const makeMssqlDriver = (client: SqlClient.SqlClient): Driver => {
  const control = (conn: Connection, sql: string) => conn.executeUnprepared(sql, [], undefined)

  const inTransaction = <A>(
    options: { readonly commit: boolean; readonly timeoutMs: number; readonly rowCap?: number },
    body: (conn: Connection) => Effect.Effect<A, SqlError.SqlError>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const conn = yield* client.reserve
      yield* control(conn, `SET ROWCOUNT ${Math.floor(options.rowCap ?? 0)}; SET LOCK_TIMEOUT ${Math.floor(options.timeoutMs)}`)
      yield* Effect.addFinalizer(() => Effect.ignore(control(conn, "SET ROWCOUNT 0")))
      yield* control(conn, "BEGIN TRANSACTION")
      let committed = false
      yield* Effect.addFinalizer(() => committed ? Effect.void : Effect.ignore(control(conn, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")))
      const result = yield* body(conn)
      if (options.commit) {
        yield* control(conn, "COMMIT TRANSACTION")
        committed = true
      }
      return result
    }))

  const shape = (raw: ReadonlyArray<unknown>, maxRows: number) => {
    const rows = jsonRows(raw)
    const truncated = rows.length > maxRows
    const kept = truncated ? rows.slice(0, maxRows) : rows
    return { columns: Object.keys(kept[0] ?? {}), rows: kept, rowCount: kept.length, truncated }
  }

  const read: Driver["read"] = (stmt, params, limits) =>
    inTransaction({ commit: false, timeoutMs: limits.timeoutMs, rowCap: limits.maxRows + 1 }, (conn) =>
      conn.execute(stmt.text, params, undefined)).pipe(
        Effect.map((raw) => shape(raw, limits.maxRows)),
        Effect.mapError(mapSqlError(limits.timeoutMs, ["ETIMEOUT"])),
        // Only after reading (untested without a server here): the byte limits still hold for the caller.
        Effect.tap((result) => checkResultSize(result.rows, limits)),
        withTimeoutBackstop(limits.timeoutMs)
      )

  const write: Driver["write"] = (stmt, params, limits) =>
    inTransaction({ commit: true, timeoutMs: limits.timeoutMs }, (conn) => conn.execute(stmt.text, params, undefined)).pipe(
      Effect.map((raw) => shape(raw, limits.maxRows)),
      Effect.mapError(mapSqlError(limits.timeoutMs, ["ETIMEOUT"])),
      Effect.tap((result) => checkResultSize(result.rows, limits)),
      withTimeoutBackstop(limits.timeoutMs)
    )

  const explain: Driver["explain"] = () =>
    Effect.fail(new QueryFailed({ message: "EXPLAIN is not supported for SQL Server connections yet" }))

  const introspect: Driver["introspect"] = inTransaction({ commit: false, timeoutMs: 30_000 }, (conn) =>
    conn.executeUnprepared(
      `SELECT c.TABLE_SCHEMA AS sch, c.TABLE_NAME AS tbl, t.TABLE_TYPE AS kind, c.COLUMN_NAME AS name,
              c.DATA_TYPE AS type, c.IS_NULLABLE AS nullable, c.COLUMN_DEFAULT AS dflt
       FROM INFORMATION_SCHEMA.COLUMNS c
       JOIN INFORMATION_SCHEMA.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
       ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
      [],
      undefined
    )).pipe(
      Effect.map((rows) => {
        const tables = new Map<string, TableInfo>()
        for (const c of rows as ReadonlyArray<Record<string, unknown>>) {
          const key = `${c.sch}.${c.tbl}`
          const t = tables.get(key) ??
            {
              schema: String(c.sch),
              name: String(c.tbl),
              kind: String(c.kind).includes("VIEW") ? "view" as const : "table" as const,
              columns: [],
              primaryKey: [],
              foreignKeys: [],
              indexes: []
            }
          ;(t.columns as Array<TableInfo["columns"][number]>).push({
            name: String(c.name),
            type: String(c.type),
            nullable: c.nullable === "YES",
            default: c.dflt === null || c.dflt === undefined ? null : String(c.dflt),
            primaryKey: false
          })
          tables.set(key, t)
        }
        return [...tables.values()]
      }),
      Effect.mapError(mapSqlError(30_000))
    )

  const ping: Driver["ping"] = client.unsafe("SELECT 1").pipe(Effect.asVoid, Effect.mapError(mapSqlError(5_000)))

  return { read, write, explain, introspect, ping }
}
