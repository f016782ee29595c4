import { Database } from "bun:sqlite"

/**
 * A child PROCESS that runs read-only SQLite statements for
 * SqliteWorkerRunner. bun:sqlite is synchronous: on the main thread one
 * runaway query (a recursive CTE without an end) would freeze the platform,
 * and a worker THREAD does not help either: Worker.terminate() cannot stop a
 * thread inside sqlite3_step, which kept spinning at 100 % CPU until restart
 * (issue #17, measured). A process is stopped by SIGKILL whatever it runs.
 *
 * Each statement gets a fresh read-only handle (no state survives from one
 * statement to the next), and rows are weighed as they are read: past the
 * byte limits the statement stops and nothing more is sent.
 */
export interface SqliteRequest {
  readonly id: number
  readonly filename: string
  readonly sql: string
  readonly params: ReadonlyArray<string | number | boolean | null>
  readonly maxResultBytes: number
  readonly maxValueBytes: number
}

export interface SqliteReply {
  readonly id: number
  readonly rows?: ReadonlyArray<Record<string, unknown>>
  readonly error?: { readonly message: string; readonly code?: string }
}

/** Bytes of a value as JSON text, about: blobs travel as hex. */
const valueBytes = (value: unknown): number => {
  if (value === null || value === undefined) return 4
  if (typeof value === "string") return value.length + 2
  if (value instanceof Uint8Array) return value.byteLength * 2 + 4
  return 24
}

const run = (request: SqliteRequest): SqliteReply => {
  const { id, filename, sql, params } = request
  let db: Database | undefined
  try {
    db = new Database(filename, { readonly: true })
    db.run("PRAGMA query_only = ON")
    const statement = db.prepare(sql)
    try {
      // sqlite3_stmt_readonly: the engine's own verdict, checked before anything runs.
      if (!statement.readonly) {
        return { id, error: { message: "SQLite reports that the statement writes to the database", code: "SQLITE_READONLY" } }
      }
      const rows: Array<Record<string, unknown>> = []
      let total = 0
      for (const row of statement.iterate(...params) as Iterable<Record<string, unknown>>) {
        for (const [key, value] of Object.entries(row)) {
          const size = valueBytes(value)
          if (size > request.maxValueBytes) {
            return { id, error: { message: `a value in the result exceeds ${request.maxValueBytes} bytes (SQL_TOOL_MAX_VALUE_BYTES)`, code: "value_too_large" } }
          }
          total += size + key.length + 4
        }
        if (total > request.maxResultBytes) {
          return { id, error: { message: `result exceeds ${request.maxResultBytes} bytes (SQL_TOOL_MAX_RESULT_BYTES): select fewer rows or columns`, code: "result_too_large" } }
        }
        rows.push(row)
      }
      return { id, rows }
    } finally {
      statement.finalize()
    }
  } catch (cause) {
    const e = cause as { message?: string; code?: string }
    return { id, error: { message: String(e.message ?? cause), ...(e.code ? { code: e.code } : {}) } }
  } finally {
    db?.close()
  }
}

process.on("message", (request: SqliteRequest) => {
  process.send?.(run(request))
})
// The platform went away: nothing is left to answer to.
process.on("disconnect", () => process.exit(0))
