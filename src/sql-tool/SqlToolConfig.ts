import { Config, Context, Effect, Layer, type Option, type Redacted } from "effect"
import * as Values from "../config/Values.ts"

export interface SqlToolConfigShape {
  /** Connections per target database pool. */
  readonly poolSize: number
  /** A pool unused this long is closed (and reopened on next use). */
  readonly poolIdleMs: number
  readonly defaultMaxRows: number
  readonly defaultTimeoutMs: number
  /** A read result larger than this (its text form) is refused while it is read, not after. */
  readonly maxResultBytes: number
  /** No single value may be larger than this, whatever the whole result weighs. */
  readonly maxValueBytes: number
  /** Statements running at once across all connections (with the byte limit, bounds this process's share). */
  readonly maxConcurrent: number
  /** ...and per project, so one tenant cannot take the whole budget. */
  readonly maxConcurrentPerProject: number
  /** EXPLAIN hints call a table "large" from this many rows. */
  readonly largeTableRows: number
  readonly schemaCacheMs: number
  /**
   * Key of the connection strings at rest. Unset: a random key generated once
   * per data directory (`<DATA_DIR>/.sql-tool-key`, mode 0600) in single mode;
   * required when CLUSTER_MODE is runner or client.
   */
  readonly secretKey: Option.Option<Redacted.Redacted<string>>
  /**
   * Directories (absolute) an operator lets SQLite connections open files in,
   * besides each project's own `<DATA_DIR>/sqlite/<projectId>/`.
   */
  readonly sqliteAllowDirs: ReadonlyArray<string>
  /** A SQLite connection's query process idle this long ends: a Bun runtime of tens of MB each (SqliteWorkerRunner.ts). */
  readonly sqliteWorkerIdleMs: number
}

/**
 * The SQL tool's own settings (SQL_TOOL_*), kept beside the service rather
 * than in AppConfig; ConnectionSecrets reads the encryption key from it.
 */
export class SqlToolConfig extends Context.Tag("SqlTool/Config")<SqlToolConfig, SqlToolConfigShape>() {
  static readonly config: Config.Config<SqlToolConfigShape> = Config.all({
    poolSize: Values.positiveInteger("SQL_TOOL_POOL_SIZE").pipe(Config.withDefault(4)),
    poolIdleMs: Values.positiveInteger("SQL_TOOL_POOL_IDLE_MS").pipe(Config.withDefault(5 * 60_000)),
    defaultMaxRows: Values.positiveInteger("SQL_TOOL_MAX_ROWS").pipe(Config.withDefault(1_000)),
    defaultTimeoutMs: Values.positiveInteger("SQL_TOOL_STATEMENT_TIMEOUT_MS").pipe(Config.withDefault(15_000)),
    maxResultBytes: Values.positiveInteger("SQL_TOOL_MAX_RESULT_BYTES").pipe(Config.withDefault(5 * 1024 * 1024)),
    maxValueBytes: Values.positiveInteger("SQL_TOOL_MAX_VALUE_BYTES").pipe(Config.withDefault(1024 * 1024)),
    maxConcurrent: Values.positiveInteger("SQL_TOOL_MAX_CONCURRENT").pipe(Config.withDefault(16)),
    maxConcurrentPerProject: Values.positiveInteger("SQL_TOOL_MAX_CONCURRENT_PER_PROJECT").pipe(Config.withDefault(4)),
    largeTableRows: Values.positiveInteger("SQL_TOOL_LARGE_TABLE_ROWS").pipe(Config.withDefault(10_000)),
    schemaCacheMs: Values.nonNegativeInteger("SQL_TOOL_SCHEMA_CACHE_MS").pipe(Config.withDefault(5 * 60_000)),
    secretKey: Config.option(Config.redacted("SQL_TOOL_SECRET_KEY")),
    sqliteAllowDirs: Config.array(Config.string(), "SQL_TOOL_SQLITE_ALLOW_DIRS").pipe(
      Config.withDefault([]),
      Config.validate({
        message: "absolute directory paths, comma-separated",
        validation: (dirs) => dirs.every((d) => d.startsWith("/"))
      })
    ),
    sqliteWorkerIdleMs: Values.positiveInteger("SQL_TOOL_SQLITE_WORKER_IDLE_MS").pipe(
      Config.withDefault(10_000)
    )
  })

  static readonly layer = Layer.effect(SqlToolConfig, Effect.orDie(SqlToolConfig.config))

  static readonly layerWith = (overrides: Partial<SqlToolConfigShape>) =>
    Layer.effect(SqlToolConfig, Effect.map(Effect.orDie(SqlToolConfig.config), (c) => ({ ...c, ...overrides })))
}
