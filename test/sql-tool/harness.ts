import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { pgClientLayer } from "../../src/db/Database.ts"
import { CurrentUser, type Role } from "../../src/domain/Identity.ts"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { ConnectionRepo } from "../../src/sql-tool/ConnectionRepo.ts"
import { ConnectionSecrets } from "../../src/sql-tool/ConnectionSecrets.ts"
import { SqlQueryTool } from "../../src/sql-tool/SqlQueryTool.ts"
import { SqlToolConfig, type SqlToolConfigShape } from "../../src/sql-tool/SqlToolConfig.ts"
import { SqlToolService } from "../../src/sql-tool/SqlToolService.ts"
import { EgressConfig } from "../../src/net/EgressConfig.ts"
import { EgressPolicy } from "../../src/net/EgressPolicy.ts"
import coreTables from "../../sql/0001_core_tables.ts"
import sqlConnections from "../../sql/0060_sql_connections.ts"
import sqlConnectionApproval from "../../sql/0120_sql_connection_approval.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { AuthConfig } from "../../src/auth/AuthConfig.ts"
import { ProjectQuotas } from "../../src/auth/ProjectQuotas.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { SQLITE_TARGETS_DIR } from "./targets.ts"

/**
 * The SQL tool's services over a fresh platform database on the real
 * PostgreSQL (only the migrations it needs: core tables + its own), with one
 * user owning one project. No HTTP: `as(role)` provides the caller.
 */
export const startSqlTool = async (overrides: Partial<SqlToolConfigShape> = {}) => {
  const platformDb = await createTestDatabase("sqltool_platform")
  const dataDir = makeTempDir("sqltool-data")
  const PlatformSql = pgClientLayer(platformDb.url)
  const Services = SqlQueryTool.DefaultWithoutDependencies.pipe(
    Layer.provideMerge(SqlToolService.DefaultWithoutDependencies),
    Layer.provideMerge(Layer.mergeAll(ConnectionRepo.Default, ConnectionSecrets.Default, ConnectionPools.Default)),
    // Per-project quotas with the platform's defaults (SQL connections are counted).
    Layer.provideMerge(ProjectQuotas.Default.pipe(Layer.provide(AuthConfig.layerWith({})))),
    // SQLite targets live in one directory an operator allows (targets.ts); the data dir holds the key file.
    Layer.provideMerge(SqlToolConfig.layerWith({ largeTableRows: 1_000, sqliteAllowDirs: [SQLITE_TARGETS_DIR], ...overrides })),
    Layer.provideMerge(AppConfig.layerWith({ dataDir: dataDir.dir })),
    // The target databases run on loopback: the operator allow-list admits it, as an operator would.
    Layer.provideMerge(EgressPolicy.Default.pipe(Layer.provide(EgressConfig.layerWith({ allow: ["127.0.0.1"] })))),
    Layer.provideMerge(PlatformSql),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
    Layer.orDie
  )
  const runtime = ManagedRuntime.make(Services)
  const userId = `u_${crypto.randomUUID().slice(0, 8)}`
  const projectId = `p_${crypto.randomUUID().slice(0, 8)}`
  const otherProjectId = `p_${crypto.randomUUID().slice(0, 8)}`
  await runtime.runPromise(Effect.gen(function*() {
    yield* coreTables
    yield* sqlConnections
    yield* sqlConnectionApproval
    const sql = yield* PgClient.PgClient
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES (${userId}, ${`${userId}@example.test`}, 'x')`
    for (const id of [projectId, otherProjectId]) {
      yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${id}, ${id}, ${userId})`
    }
  }))
  /** The caller: a member with `role`; `operator` for the host-level capabilities (writable, any SQLite path). */
  const as = (role: Role, project = projectId, operator = false) =>
    Effect.provideService(CurrentUser, {
      kind: "user",
      userId,
      email: `${userId}@example.test`,
      operator,
      projects: new Map([[project, role]])
    })
  return {
    runtime,
    dataDir: dataDir.dir,
    projectId,
    otherProjectId,
    userId,
    as,
    run: <A, E>(effect: Effect.Effect<A, E, SqlToolService | SqlQueryTool | ConnectionPools | PgClient.PgClient>) =>
      runtime.runPromise(effect),
    /** Either of the effect: tests assert on failures as values. */
    attempt: <A, E>(effect: Effect.Effect<A, E, SqlToolService | SqlQueryTool | ConnectionPools | PgClient.PgClient>) =>
      runtime.runPromise(Effect.either(effect)),
    stop: async () => {
      await runtime.dispose()
      await platformDb.drop()
      dataDir.remove()
    }
  }
}

export type SqlToolHarness = Awaited<ReturnType<typeof startSqlTool>>
