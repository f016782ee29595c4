/// <reference lib="webworker" />
import { Database } from "bun:sqlite"

/**
 * Runs read-only SQLite statements off the main thread. bun:sqlite is
 * synchronous: on the main thread one runaway query (a recursive CTE without
 * an end) would freeze the whole platform. Here the parent can terminate the
 * worker when the statement timeout passes.
 */
interface Request {
  readonly id: number
  readonly filename: string
  readonly sql: string
  readonly params: ReadonlyArray<string | number | boolean | null>
}

declare const self: Worker

let db: Database | undefined

self.onmessage = (event: MessageEvent<Request>) => {
  const { id, filename, sql, params } = event.data
  try {
    if (db === undefined) {
      db = new Database(filename, { readonly: true })
      db.run("PRAGMA query_only = ON")
    }
    const statement = db.prepare(sql)
    try {
      // sqlite3_stmt_readonly: the engine's own verdict, checked before anything runs.
      if (!statement.readonly) {
        self.postMessage({ id, error: { message: "SQLite reports that the statement writes to the database", code: "SQLITE_READONLY" } })
        return
      }
      const rows = statement.all(...params)
      self.postMessage({ id, rows })
    } finally {
      statement.finalize()
    }
  } catch (cause) {
    const e = cause as { message?: string; code?: string }
    self.postMessage({ id, error: { message: String(e.message ?? cause), code: e.code } })
  }
}
