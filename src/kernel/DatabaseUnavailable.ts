/**
 * Whether a failure means "the database cannot be reached right now" rather than a bug:
 * the server is down or restarting, a connection was cut, or the pool could not open one.
 * The HTTP edge answers those with 503 + Retry-After instead of 500, so callers retry
 * instead of treating a PostgreSQL restart as a defect of the platform.
 *
 * Duck-typed over the `cause` chain (the cluster's PersistenceError wraps a SqlError, which
 * wraps the node-postgres error), so this file needs no driver import. Only failures that went
 * through a SqlError count: a refused connection of an outbound HTTP call is not the database.
 */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"])

// SQLSTATE class 08 (connection exception); 57P01-57P03: admin / crash shutdown, cannot connect now.
const isUnavailableSqlState = (code: string) => code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03"

const UNAVAILABLE_MESSAGES = [
  "Failed to acquire connection",
  "Connection terminated",
  "connection error and is not queryable",
  "timeout exceeded when trying to connect",
  "the database system is"
]

export const isDatabaseUnavailable = (failure: unknown): boolean => {
  let current: unknown = failure
  let sqlSeen = false
  // Bounded: a cause chain is a few links; a cyclic one must not loop.
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const { _tag, code, message } = current as { _tag?: unknown; code?: unknown; message?: unknown }
    if (_tag === "SqlError") sqlSeen = true
    if (sqlSeen) {
      if (typeof code === "string" && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) return true
      if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true
    }
    current = (current as { cause?: unknown }).cause
  }
  return false
}
