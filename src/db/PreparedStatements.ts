import Pg from "pg"

/** node-postgres' `Client#query` without its overloads, to call with the arguments as given. */
const clientQuery = Pg.Client.prototype.query as (this: Pg.Client, config: unknown, values?: unknown, callback?: unknown) => unknown

/**
 * A node-postgres `Client` that runs the platform's parameterised statements
 * as named prepared statements, one name per distinct SQL text.
 *
 * Why: @effect/sql-pg sends every statement unnamed, so PostgreSQL parses and
 * plans it on every call. For the platform's hot statements (task claim and
 * finish CTEs, cluster message storage) parse + plan was 45–55 % of the
 * database's time per statement (log_min_duration_statement, issue #19). A
 * named statement is parsed once per connection (node-postgres remembers it
 * and skips Parse) and its plan is cached by PostgreSQL.
 *
 * Bounded: only statements with at most `maxParameters` parameters are named
 * (multi-row batched INSERTs — the span store's, the cluster storage's groups —
 * are a new text for every row count, and a plan for thousands of parameters
 * is large PostgreSQL memory per connection for a statement rarely seen
 * again), and only the first `maxStatements` distinct texts; the rest run
 * unnamed as before. Statements without parameters (migrations,
 * multi-statement scripts) stay on the simple protocol untouched.
 *
 * A prepared statement whose result columns changed under it (DDL by a newer
 * node in a rolling upgrade) fails once with "cached plan must not change
 * result type"; that text then runs unnamed on that connection.
 *
 * A statement's name is derived from its text (a 64-bit hash), so every pool
 * agrees on it: the embedded database serves several pool connections from
 * one session, where names are shared, and its session multiplexer answers a
 * second connection's Parse of a name the session already has
 * (src/db/embedded/SessionMultiplexer.ts).
 */
export const preparingClient = (limits: { readonly maxStatements: number; readonly maxParameters: number }): typeof Pg.Client => {
  const names = new Map<string, string>()
  const nameOf = (text: string): string | undefined => {
    const known = names.get(text)
    if (known !== undefined || names.size >= limits.maxStatements) return known
    const name = `ap_${Bun.hash(text).toString(36)}`
    names.set(text, name)
    return name
  }

  class PreparingClient extends Pg.Client {
    /** Texts whose prepared statement went stale on this connection: run unnamed here. */
    private readonly stale = new Set<string>()

    // node-postgres' overloads (text | config | submittable, values?, callback?) as it declares them.
    override query(config: any, values?: any, callback?: any): any {
      const preparable = typeof config === "string" && Array.isArray(values) && values.length > 0 &&
        values.length <= limits.maxParameters && !this.stale.has(config)
      const name = preparable ? nameOf(config) : undefined
      if (name === undefined) return clientQuery.call(this, config, values, callback)
      if (typeof callback !== "function") return clientQuery.call(this, { name, text: config, values }, undefined, callback)
      return clientQuery.call(this, { name, text: config, values }, undefined, (err: any, result: any) => {
        if (err?.code === "0A000" && /cached plan must not change result type/.test(String(err.message))) this.stale.add(config)
        callback(err, result)
      })
    }
  }
  return PreparingClient as unknown as typeof Pg.Client
}
