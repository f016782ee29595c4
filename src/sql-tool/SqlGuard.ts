import { Cause, Effect, Exit } from "effect"
import { type Dialect, QueryRejected } from "../domain/SqlTool.ts"
import { functionVerdict } from "./AllowedFunctions.ts"

/**
 * Parser-enforced statement policy. Read mode accepts exactly one plain
 * SELECT (CTEs, joins, window functions, set operations) whose whole tree
 * holds no data-modifying statement, no SELECT INTO, no row locks and no call
 * to a function outside the allow-list (AllowedFunctions.ts). Write mode still demands exactly one
 * statement. Anything the parser cannot read is refused (fail closed). The
 * database enforces read-only again on its side (see Drivers.ts): this guard
 * is the first of two walls, not the only one.
 */
export interface GuardedStatement {
  /** The single statement, without trailing semicolons. */
  readonly text: string
  /** Top-level statement is a query (rows can be limited by wrapping it). */
  readonly isSelect: boolean
}

const reject = (reason: string, message: string) => Effect.fail(new QueryRejected({ reason, message }))

// --- PostgreSQL: libpg-query (the real PostgreSQL parser compiled to WASM) ---

/**
 * The parsers load on first use, not with the platform: node-sql-parser alone is 2.5 MB of
 * JavaScript that every start would parse and keep in memory (issue #22). A parser that cannot
 * load refuses the statement (fail closed) with a reason saying so.
 */
const loadParser = <A>(name: string, load: () => Promise<A>) =>
  Effect.runSync(Effect.cached(Effect.tryPromise({
    try: load,
    catch: (e) =>
      new QueryRejected({ reason: "parser_unavailable", message: `the SQL parser (${name}) could not be loaded: ${(e as Error).message ?? e}` })
  })))

const pgParser = loadParser("libpg-query", async () => {
  const libpg = await import("libpg-query")
  await libpg.loadModule()
  return libpg
})

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

interface Finding {
  readonly reason: string
  readonly message: string
}

const functionFinding = (name: string, schema?: string): Finding | undefined => {
  switch (functionVerdict(name, schema)) {
    case "allowed":
      return undefined
    case "dangerous":
      return { reason: "side_effect_function", message: `function ${name}() is not allowed in read-only mode` }
    case "unknown":
      return { reason: "function_not_allowed", message: `function ${name}() is not on the read-only allow-list` }
  }
}

/** Walks a libpg-query JSON tree; the first forbidden construct wins. */
const inspectPgTree = (node: Json): Finding | undefined => {
  if (node === null || typeof node !== "object") return undefined
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = inspectPgTree(child)
      if (found) return found
    }
    return undefined
  }
  const obj = node as { readonly [k: string]: Json }
  for (const [key, value] of Object.entries(obj)) {
    // Every statement node is `<Kind>Stmt`; inside a query only SELECT may appear (CTEs included).
    if (key.endsWith("Stmt") && key !== "SelectStmt") {
      return { reason: "write_statement", message: `${key.replace(/Stmt$/, "")} is not allowed in read-only mode` }
    }
    if (key === "SelectStmt" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const select = value as { readonly [k: string]: Json }
      if (select.intoClause) return { reason: "select_into", message: "SELECT ... INTO creates a table" }
      if (select.lockingClause) return { reason: "row_lock", message: "FOR UPDATE/SHARE takes row locks" }
    }
    if (key === "FuncCall" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const parts = (value as { readonly funcname?: ReadonlyArray<{ String?: { sval?: string } }> }).funcname ?? []
      const names = parts.map((p) => p.String?.sval ?? "")
      const found = functionFinding(names.at(-1) ?? "", names.length > 1 ? names.at(-2) : undefined)
      if (found) return found
    }
    const found = inspectPgTree(value)
    if (found) return found
  }
  return undefined
}

interface PgParse {
  readonly stmts: ReadonlyArray<{ readonly stmt: Json; readonly stmt_location?: number; readonly stmt_len?: number }>
}

const parsePg = (sql: string) =>
  Effect.flatMap(
    pgParser,
    ({ parseSync }) => Effect.try({
      try: () => parseSync(sql) as unknown as PgParse,
      catch: (e) =>
        new QueryRejected({ reason: "parse_error", message: `could not parse statement: ${(e as Error).message ?? e}` })
    })
  )

const statementText = (sql: string, s: PgParse["stmts"][number]) => {
  const start = s.stmt_location ?? 0
  const end = s.stmt_len ? start + s.stmt_len : sql.length
  return sql.slice(start, end).replace(/[\s;]+$/, "")
}

const checkPg = (sql: string, mode: "read" | "write") =>
  Effect.gen(function*() {
    const tree = yield* parsePg(sql)
    if (tree.stmts.length === 0) return yield* reject("empty", "no statement")
    if (tree.stmts.length > 1) return yield* reject("stacked_statements", "exactly one statement is allowed")
    const only = tree.stmts[0]
    const stmt = only.stmt as { readonly [k: string]: Json }
    const isSelect = "SelectStmt" in stmt
    if (mode === "read") {
      if (!isSelect) {
        const kind = Object.keys(stmt)[0]?.replace(/Stmt$/, "") ?? "statement"
        return yield* reject("not_a_query", `${kind} is not allowed in read-only mode`)
      }
      const found = inspectPgTree(stmt)
      if (found) return yield* reject(found.reason, found.message)
    }
    return { text: statementText(sql, only), isSelect } satisfies GuardedStatement
  })

// --- MySQL / MariaDB / SQLite: node-sql-parser ---

const nspParser = loadParser("node-sql-parser", async () => new (await import("node-sql-parser")).default.Parser())

/** Statement types node-sql-parser produces for anything that is not a plain query. */
const statementTypes = new Set([
  "insert", "replace", "update", "delete", "create", "drop", "alter", "truncate", "rename", "call", "set",
  "lock", "unlock", "grant", "revoke", "load_data", "use", "transaction", "show", "explain", "exec",
  "declare", "execute", "deallocate", "prepare", "attach", "detach", "pragma", "vacuum", "analyze", "merge",
  "handler", "do", "flush", "kill", "purge", "reset", "start", "commit", "rollback", "savepoint", "release",
  "assign", "into", "reindex"
])

const nameOf = (fn: { readonly name?: unknown }): string => {
  const n = fn.name
  if (typeof n === "string") return n
  if (n && typeof n === "object" && "name" in n && Array.isArray((n as { name: unknown }).name)) {
    const parts = (n as { name: ReadonlyArray<{ value?: unknown }> }).name
    return String(parts.at(-1)?.value ?? "")
  }
  return ""
}

/** The qualifier of `schema.fn(...)`, when node-sql-parser kept one. */
const schemaOf = (fn: { readonly name?: unknown }): string | undefined => {
  const n = fn.name
  if (n && typeof n === "object" && "name" in n && Array.isArray((n as { name: unknown }).name)) {
    const parts = (n as { name: ReadonlyArray<{ value?: unknown }> }).name
    if (parts.length > 1) return String(parts.at(-2)?.value ?? "")
  }
  const schema = n && typeof n === "object" && "schema" in n ? (n as { schema: unknown }).schema : undefined
  if (typeof schema === "string") return schema
  if (schema && typeof schema === "object" && "value" in schema) return String((schema as { value: unknown }).value)
  return undefined
}

const inspectNspTree = (node: unknown, root: boolean): Finding | undefined => {
  if (node === null || typeof node !== "object") return undefined
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = inspectNspTree(child, false)
      if (found) return found
    }
    return undefined
  }
  const obj = node as Record<string, unknown>
  const type = typeof obj.type === "string" ? obj.type.toLowerCase() : undefined
  if (type !== undefined && statementTypes.has(type) && !(root && type === "select")) {
    return { reason: "write_statement", message: `${type.toUpperCase()} is not allowed in read-only mode` }
  }
  if (type === "select") {
    const into = obj.into as { position?: unknown; type?: unknown } | null | undefined
    if (into && (into.position || into.type === "into")) {
      return { reason: "select_into", message: "SELECT ... INTO writes a table, file or variable" }
    }
    if (obj.locking_read || obj.for_update) return { reason: "row_lock", message: "locking reads take row locks" }
  }
  if (type === "function" || type === "aggr_func") {
    const found = functionFinding(nameOf(obj), schemaOf(obj))
    if (found) return found
  }
  for (const value of Object.values(obj)) {
    const found = inspectNspTree(value, false)
    if (found) return found
  }
  return undefined
}

/**
 * node-sql-parser reads a backslash in a string as an escape. SQLite never
 * does, and MySQL does not under NO_BACKSLASH_ESCAPES: the two readers would
 * disagree on where a string ends, which is how text hides from a guard.
 * Values with backslashes belong in bound parameters anyway.
 */
const backslashFinding: Finding = {
  reason: "ambiguous_escape",
  message: "backslashes in the statement text are ambiguous for this database; pass such values as parameters"
}

/**
 * Text that engines read differently: MySQL executes `/*! ... *\/` that every
 * parser drops as a comment, and reads `--x` as minus-minus-x where the
 * parsers see a comment. Either could hide a clause from the guard. Refused
 * on every dialect: no legitimate query needs them, and a statement meaning
 * one thing here and another there is the shape of an attack.
 */
const lexicalTraps = (sql: string): Finding | undefined => {
  if (/\/\*\s*M?!/i.test(sql)) {
    return { reason: "executable_comment", message: "MySQL executable comments (/*! ... */) are not allowed" }
  }
  if (/--(?![ \t\r\n])/.test(sql)) {
    return { reason: "ambiguous_comment", message: "'--' must be followed by a space to be a comment" }
  }
  return undefined
}

const astify = (nsp: Effect.Effect.Success<typeof nspParser>, sql: string, database: string) =>
  Effect.try({
    try: () => nsp.astify(sql, { database }),
    catch: (e) => e
  })

const checkNsp = (sql: string, dialect: "mysql" | "sqlite" | "mssql", mode: "read" | "write") =>
  Effect.gen(function*() {
    if (sql.includes("\\")) return yield* reject(backslashFinding.reason, backslashFinding.message)
    const grammars = dialect === "mysql" ? ["MySQL", "MariaDB"] : dialect === "sqlite" ? ["Sqlite"] : ["TransactSQL"]
    let parsed: unknown = undefined
    let lastError: unknown = undefined
    const nsp = yield* nspParser
    for (const grammar of grammars) {
      const attempt = yield* Effect.either(astify(nsp, sql, grammar))
      if (attempt._tag === "Right") {
        parsed = attempt.right
        break
      }
      lastError = attempt.left
    }
    if (parsed === undefined) {
      // node-sql-parser's SQLite grammar lacks some valid queries (e.g. `OVER (ORDER BY ...)`);
      // SQLite's lexical rules (standard strings, no backslash escapes) are PostgreSQL's, so
      // the PostgreSQL parser is a faithful second reader there.
      if (dialect === "sqlite") return yield* checkPg(sql, mode)
      const msg = lastError instanceof Error ? lastError.message.split("\n")[0] : String(lastError)
      return yield* reject("parse_error", `could not parse statement: ${msg}`)
    }
    const list = Array.isArray(parsed) ? parsed : [parsed]
    if (list.length === 0) return yield* reject("empty", "no statement")
    if (list.length > 1) return yield* reject("stacked_statements", "exactly one statement is allowed")
    const ast = list[0] as { type?: string }
    const isSelect = ast.type === "select"
    if (mode === "read") {
      if (!isSelect) return yield* reject("not_a_query", `${String(ast.type).toUpperCase()} is not allowed in read-only mode`)
      const found = inspectNspTree(ast, true)
      if (found) return yield* reject(found.reason, found.message)
    }
    return { text: sql.replace(/[\s;]+$/, ""), isSelect } satisfies GuardedStatement
  })

/** Verdicts by (dialect, mode, text): a pure function of its input, and agents repeat queries. */
const verdicts = new Map<string, Exit.Exit<GuardedStatement, QueryRejected>>()
const VERDICT_CACHE_SIZE = 1_000

/** Checks one statement for `mode` in `dialect`; the refusal says why in words a caller can act on. */
export const guardStatement = (dialect: Dialect, sql: string, mode: "read" | "write") =>
  Effect.suspend(() => {
    const key = `${dialect}\u0000${mode}\u0000${sql}`
    const known = verdicts.get(key)
    if (known !== undefined) return known
    const trap = lexicalTraps(sql)
    const check = trap
      ? reject(trap.reason, trap.message)
      : dialect === "postgres"
      ? checkPg(sql, mode)
      : checkNsp(sql, dialect, mode)
    return Effect.onExit(check, (exit) =>
      Effect.sync(() => {
        // Defects (never expected) are not remembered.
        if (Exit.isSuccess(exit) || Cause.isFailType(exit.cause)) {
          if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.delete(verdicts.keys().next().value as string)
          verdicts.set(key, exit)
        }
      }))
  }).pipe(
    Effect.withSpan("SqlGuard.check", { attributes: { "db.system": dialect, mode } })
  )
