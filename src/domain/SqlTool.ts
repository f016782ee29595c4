import { HttpApiSchema } from "@effect/platform"
import { Data, Schema } from "effect"

export const Dialect = Schema.Literal("postgres", "mysql", "sqlite", "mssql")
export type Dialect = typeof Dialect.Type

/** A bound parameter: scalars only, so nothing but data ever reaches the driver. */
export const SqlParam = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)
export type SqlParam = typeof SqlParam.Type

/** What the API shows of a connection: never the connection string or credentials. */
export class ConnectionInfo extends Schema.Class<ConnectionInfo>("SqlTool/ConnectionInfo")({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  dialect: Dialect,
  /** host:port/database (or the SQLite file name), without user or password. */
  target: Schema.String,
  writable: Schema.Boolean,
  createdAt: Schema.String
}) {}

export const CreateConnectionRequest = Schema.Struct({
  projectId: Schema.String,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)),
  /** postgres://, mysql:// (mariadb://), sqlite:/path, mssql:// (sqlserver://). */
  connectionString: Schema.Redacted(Schema.String),
  writable: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Connect once before saving (default true): a bad string fails here, not at first use. */
  verify: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export type CreateConnectionRequest = typeof CreateConnectionRequest.Type

export const ExecuteRequest = Schema.Struct({
  connectionId: Schema.String,
  sql: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100_000)),
  params: Schema.optionalWith(Schema.Array(SqlParam), { default: () => [] }),
  mode: Schema.optionalWith(Schema.Literal("read", "write"), { default: () => "read" as const }),
  maxRows: Schema.optional(Schema.Int.pipe(Schema.between(1, 10_000))),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(100, 120_000)))
})
export type ExecuteRequest = typeof ExecuteRequest.Type

export class QueryResult extends Schema.Class<QueryResult>("SqlTool/QueryResult")({
  columns: Schema.Array(Schema.String),
  rows: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  rowCount: Schema.Int,
  /** More rows existed than `maxRows`; only the first `maxRows` are returned. */
  truncated: Schema.Boolean,
  mode: Schema.Literal("read", "write"),
  elapsedMs: Schema.Number
}) {}

export const ExplainRequest = Schema.Struct({
  connectionId: Schema.String,
  sql: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100_000)),
  params: Schema.optionalWith(Schema.Array(SqlParam), { default: () => [] }),
  /** EXPLAIN ANALYZE runs the statement: only admins on writable connections, and always rolled back. */
  analyze: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
export type ExplainRequest = typeof ExplainRequest.Type

export const PlanHint = Schema.Struct({
  kind: Schema.Literal("seq_scan_large_table", "missing_index", "large_sort", "temporary_table"),
  table: Schema.optional(Schema.String),
  message: Schema.String
})
export type PlanHint = typeof PlanHint.Type

export class ExplainResult extends Schema.Class<ExplainResult>("SqlTool/ExplainResult")({
  dialect: Dialect,
  analyzed: Schema.Boolean,
  plan: Schema.Unknown,
  hints: Schema.Array(PlanHint)
}) {}

export const ColumnInfo = Schema.Struct({
  name: Schema.String,
  type: Schema.String,
  nullable: Schema.Boolean,
  default: Schema.NullOr(Schema.String),
  primaryKey: Schema.Boolean
})
export const ForeignKeyInfo = Schema.Struct({
  columns: Schema.Array(Schema.String),
  referencedTable: Schema.String,
  referencedColumns: Schema.Array(Schema.String)
})
export const IndexInfo = Schema.Struct({
  name: Schema.String,
  columns: Schema.Array(Schema.String),
  unique: Schema.Boolean
})
export const TableInfo = Schema.Struct({
  schema: Schema.NullOr(Schema.String),
  name: Schema.String,
  kind: Schema.Literal("table", "view"),
  columns: Schema.Array(ColumnInfo),
  primaryKey: Schema.Array(Schema.String),
  foreignKeys: Schema.Array(ForeignKeyInfo),
  indexes: Schema.Array(IndexInfo)
})
export type TableInfo = typeof TableInfo.Type

export class SchemaInfo extends Schema.Class<SchemaInfo>("SqlTool/SchemaInfo")({
  connectionId: Schema.String,
  dialect: Dialect,
  tables: Schema.Array(TableInfo),
  cachedAt: Schema.String
}) {}

/** The guard refused a statement (read-only mode, stacked statements, parse failure...). */
export class QueryRejected extends Schema.TaggedError<QueryRejected>()(
  "QueryRejected",
  { message: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** The database refused or failed the statement: its own message, never credentials. */
export class QueryFailed extends Schema.TaggedError<QueryFailed>()(
  "QueryFailed",
  { message: Schema.String, code: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** Internal: the target database could not be reached. Becomes a 503 at the edge. */
export class ConnectFailed extends Data.TaggedError("ConnectFailed")<{ readonly reason: string }> {}

/** Internal: the statement ran past its timeout. Becomes a 504 at the edge. */
export class StatementTimedOut extends Data.TaggedError("StatementTimedOut")<{ readonly timeoutMs: number }> {}
