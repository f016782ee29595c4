import { Database } from "bun:sqlite"

/**
 * A child PROCESS that runs read-only SQLite statements for
 * SqliteWorkerRunner. bun:sqlite is synchronous: on the main thread one
 * runaway query (a recursive CTE without an end) would freeze the platform,
 * and a worker THREAD does not help either: Worker.terminate() cannot stop a
 * thread inside sqlite3_step, which kept spinning at 100 % CPU until restart
 * (issue #17, measured). A process is stopped by SIGKILL whatever it runs.
 *
 * Each statement gets a fresh handle (no state survives from one statement
 * to the next): read-only for reads; read-write inside one transaction for
 * writes (admins on writable connections), which a kill rolls back like any
 * crash (SQLite's journal). Rows are weighed as they are read: past the byte
 * limits the statement stops and nothing more is sent.
 */
export interface SqliteRequest {
  readonly id: number
  readonly filename: string
  readonly sql: string
  readonly params: ReadonlyArray<string | number | boolean | null>
  readonly mode: "read" | "write"
  readonly maxResultBytes: number
  readonly maxValueBytes: number
}

export interface SqliteReply {
  readonly id: number
  readonly rows?: ReadonlyArray<Record<string, unknown>>
  /** Rows changed (writes). */
  readonly changes?: number
  readonly error?: { readonly message: string; readonly code?: string }
}

/** Bytes of a value as JSON text, about: blobs travel as hex. */
const valueBytes = (value: unknown): number => {
  if (value === null || value === undefined) return 4
  if (typeof value === "string") return value.length + 2
  if (value instanceof Uint8Array) return value.byteLength * 2 + 4
  return 24
}

class TooLarge extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

const collect = (rows: Iterable<Record<string, unknown>>, request: SqliteRequest) => {
  const out: Array<Record<string, unknown>> = []
  let total = 0
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      const size = valueBytes(value)
      if (size > request.maxValueBytes) {
        throw new TooLarge("value_too_large", `a value in the result exceeds ${request.maxValueBytes} bytes (SQL_TOOL_MAX_VALUE_BYTES)`)
      }
      total += size + key.length + 4
    }
    if (total > request.maxResultBytes) {
      throw new TooLarge("result_too_large", `result exceeds ${request.maxResultBytes} bytes (SQL_TOOL_MAX_RESULT_BYTES): select fewer rows or columns`)
    }
    out.push(row)
  }
  return out
}

const read = (db: Database, request: SqliteRequest): SqliteReply => {
  db.run("PRAGMA query_only = ON")
  const statement = db.prepare(request.sql)
  try {
    // sqlite3_stmt_readonly: the engine's own verdict, checked before anything runs.
    if (!statement.readonly) {
      return { id: request.id, error: { message: "SQLite reports that the statement writes to the database", code: "SQLITE_READONLY" } }
    }
    return { id: request.id, rows: collect(statement.iterate(...request.params) as Iterable<Record<string, unknown>>, request) }
  } finally {
    statement.finalize()
  }
}

const write = (db: Database, request: SqliteRequest): SqliteReply => {
  // Waits on another writer's lock instead of failing at once.
  db.run("PRAGMA busy_timeout = 2000")
  const statement = db.prepare(request.sql)
  try {
    db.run("BEGIN IMMEDIATE")
    try {
      const rows = collect(statement.iterate(...request.params) as Iterable<Record<string, unknown>>, request)
      const changes = Number((db.query("SELECT changes() AS n").get() as { n: number }).n)
      db.run("COMMIT")
      return { id: request.id, rows, changes }
    } catch (e) {
      db.run("ROLLBACK")
      throw e
    }
  } finally {
    statement.finalize()
  }
}

const run = (request: SqliteRequest): SqliteReply => {
  let db: Database | undefined
  try {
    db = request.mode === "write"
      ? new Database(request.filename, { readwrite: true, create: false })
      : new Database(request.filename, { readonly: true })
    return request.mode === "write" ? write(db, request) : read(db, request)
  } catch (cause) {
    const e = cause as { message?: string; code?: string }
    return { id: request.id, error: { message: String(e.message ?? cause), ...(e.code ? { code: e.code } : {}) } }
  } finally {
    db?.close()
  }
}

process.on("message", (request: SqliteRequest) => {
  process.send?.(run(request))
})
// The platform went away: nothing is left to answer to.
process.on("disconnect", () => process.exit(0))
