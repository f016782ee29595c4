import { BunContext } from "@effect/platform-bun"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, String as Str } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"
import { MigrationsLive } from "./Migrations.ts"

const transforms = {
  transformQueryNames: Str.camelToSnake,
  transformResultNames: Str.snakeToCamel,
  // Column names only: JSON values are user data (tool schemas, env names like API_TOKEN,
  // arrays) and must come back exactly as stored.
  transformJson: false,
  applicationName: "agent-platform"
} as const

/**
 * `SqlClient` + `PgClient` for the process: a real Postgres when
 * DATABASE_URL is set, otherwise the embedded PGlite served on loopback.
 * Either way the platform code sees the same `@effect/sql-pg` client.
 */
export const PgLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isSome(config.databaseUrl)) {
      return PgClient.layer({ url: config.databaseUrl.value, maxConnections: config.dbPoolSize, ...transforms })
    }
    return Layer.unwrapEffect(
      Effect.map(EmbeddedPostgres, (pg) =>
        PgClient.layer({
          host: pg.host,
          port: pg.port,
          database: "postgres",
          username: "postgres",
          password: pg.password,
          // The embedded server is one session: keep the pool small (2–3) so it never starves.
          maxConnections: config.dbPoolSize,
          minConnections: 1,
          ...transforms
        }))
    ).pipe(
      Layer.provide(
        EmbeddedPostgres.layer({
          dataDir: config.dataDir,
          maxConnections: config.dbPoolSize,
          sharedBuffers: config.embeddedSharedBuffers
        })
      )
    )
  })
)

/** The database, migrated. Everything that touches SQL depends on this. */
export const DatabaseLive = MigrationsLive.pipe(
  // The migrator can dump the schema with pg_dump; it asks for the platform services to do so.
  Layer.provide(BunContext.layer),
  Layer.provideMerge(PgLive)
)
