import { SqlClient } from "@effect/sql"
import { Data, Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

export class MissingExtensionError extends Data.TaggedError("MissingExtensionError")<{
  readonly extension: string
  readonly message: string
}> {}

/**
 * Whether the database has pgvector. The embedded database always has it;
 * a real Postgres may not have it installed, or may have it on the server but
 * not in this database when the platform's role may not create it.
 * With VECTOR_STORE=required (the default) a missing extension stops start-up
 * with an error naming it, instead of failing later on the first RAG call.
 */
export class VectorSupport extends Effect.Service<VectorSupport>()("Platform/VectorSupport", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const rows = yield* sql<{ extname: string }>`SELECT extname FROM pg_extension WHERE extname = 'vector'`.pipe(
      Effect.orDie
    )
    const available = rows.length > 0
    if (!available && config.vectorStore === "required") {
      const onServer = yield* sql`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`.pipe(Effect.orDie)
      return yield* new MissingExtensionError({
        extension: "vector",
        message: `the PostgreSQL extension "vector" (pgvector) is not installed in this database; ` + (onServer.length > 0
          ? `the server has it but this role may not create it: have a superuser run CREATE EXTENSION vector in this database`
          : `install pgvector (e.g. the pgvector/pgvector image)`) +
          ` or set VECTOR_STORE=disabled to run without RAG`
      })
    }
    return { available } as const
  })
}) {
  static readonly layerAvailable = (available: boolean) =>
    Layer.succeed(VectorSupport, VectorSupport.make({ available }))
}
