import { BunContext } from "@effect/platform-bun"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Redacted, String as Str } from "effect"
import Pg from "pg"
import { AppConfig } from "../config/AppConfig.ts"
import { EmbeddedMaintenanceLive } from "./EmbeddedMaintenance.ts"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"
import { MigrationsLive } from "./Migrations.ts"
import { preparingClient } from "./PreparedStatements.ts"
import { SeparateDatabaseServer } from "./CommitWithoutFlushWait.ts"

const transforms = {
  transformQueryNames: Str.camelToSnake,
  transformResultNames: Str.snakeToCamel,
  // Column names only: JSON values are user data (tool schemas, env names like API_TOKEN,
  // arrays) and must come back exactly as stored.
  transformJson: false,
  applicationName: "agent-platform"
} as const

/**
 * Which statements a pool prepares (see PreparedStatements.ts): the platform's own single-row
 * statements have at most ~25 parameters; batched multi-row INSERTs have more and run unnamed.
 */
const PREPARED = { maxStatements: 500, maxParameters: 64 } as const

/**
 * A pool of the platform's database, as PgClient.make builds one (application name, a first
 * `SELECT 1`, ended on release), whose clients prepare parameterised statements.
 */
const platformPool = (config: Pg.PoolConfig, onConnect?: (client: Pg.PoolClient) => void) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pool = new Pg.Pool({ ...config, application_name: transforms.applicationName, Client: preparingClient(PREPARED) })
        pool.on("error", () => undefined)
        if (onConnect !== undefined) pool.on("connect", onConnect)
        try {
          await pool.query("SELECT 1")
        } catch (cause) {
          await pool.end().catch(() => undefined)
          throw cause
        }
        return pool
      },
      catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
  )

/** A pool of a real PostgreSQL server. */
const serverPool = (url: Redacted.Redacted<string>, max: number) => platformPool({ connectionString: Redacted.value(url), max })

/** A client of one PostgreSQL URL with the platform's settings (name transforms, JSON kept as stored). */
export const pgClientLayer = (url: string, maxConnections = 4) =>
  PgClient.layerFromPool({ acquire: serverPool(Redacted.make(url), maxConnections), ...transforms })

/**
 * `SqlClient` + `PgClient` for the process: a real Postgres when
 * DATABASE_URL is set, otherwise the embedded PGlite served on loopback.
 * Either way the platform code sees the same `@effect/sql-pg` client.
 */
export const PgLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isSome(config.databaseUrl)) {
      return Layer.merge(
        PgClient.layerFromPool({ acquire: serverPool(config.databaseUrl.value, config.dbPoolSize), ...transforms }),
        Layer.succeed(SeparateDatabaseServer, true)
      )
    }
    return Layer.unwrapEffect(
      Effect.map(EmbeddedPostgres, (pg) =>
        PgClient.layerFromPool({
          acquire: embeddedPool({ host: pg.host, port: pg.port, password: pg.password, max: config.dbPoolSize }),
          ...transforms
        }))
    ).pipe(
      // The embedded database has no autovacuum of its own.
      (client) => EmbeddedMaintenanceLive.pipe(Layer.provideMerge(client)),
      Layer.provide(
        EmbeddedPostgres.layer({
          dataDir: config.dataDir,
          maxConnections: config.dbPoolSize,
          sharedBuffers: config.embeddedSharedBuffers,
          templateDir: config.embeddedTemplateDir
        })
      )
    )
  })
)

/**
 * The pool of the embedded database. Its clients carry no backend key:
 * @effect/sql-pg cancels an interrupted statement with
 * `SELECT pg_cancel_backend(pid)` on ANOTHER pool connection, which on one
 * shared session waits behind the very statement it targets; inside a
 * transaction that froze every connection until sql-pg's 5 s cancel timeout
 * (an aborted SSE stream or a caller hanging up is such an interruption), and
 * the late cancel then hit another connection's statement (issue #21).
 * Without a key sql-pg skips the cancel: the statement runs to its end and the
 * transaction is rolled back right after it.
 */
const embeddedPool = (options: { host: string; port: number; password: Redacted.Redacted<string>; max: number }) =>
  platformPool(
    {
      host: options.host,
      port: options.port,
      database: "postgres",
      user: "postgres",
      password: Redacted.value(options.password),
      // The embedded server is one session: keep the pool small (2–3) so it never starves.
      max: options.max,
      min: 1
    },
    (client) => {
      ;(client as { processID?: number | null }).processID = undefined
    }
  )

/** The database, migrated. Everything that touches SQL depends on this. */
export const DatabaseLive = MigrationsLive.pipe(
  // The migrator can dump the schema with pg_dump; it asks for the platform services to do so.
  Layer.provide(BunContext.layer),
  Layer.provideMerge(PgLive)
)
