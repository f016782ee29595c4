import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { pgClientLayer } from "../../src/db/Database.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { McpOAuthProvider } from "../../src/mcp/McpOAuth.ts"
import { ConnectionSecrets } from "../../src/sql-tool/ConnectionSecrets.ts"
import { SqlToolConfig } from "../../src/sql-tool/SqlToolConfig.ts"
import { McpOAuthCredentials } from "../../src/tools/McpOAuthCredentials.ts"
import coreTables from "../../sql/0001_core_tables.ts"
import mcpOAuth from "../../sql/0150_mcp_oauth_credentials.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Two providers of one OAuth-protected MCP server write its sealed credentials: an agent's session
 * refreshing tokens and a user completing an authorization. Each loads the row once and caches it,
 * so a whole-state save from the older one would put back what the newer one replaced.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let runtime: ManagedRuntime.ManagedRuntime<McpOAuthCredentials | PgClient.PgClient | SqlClient.SqlClient, never>
const projectId = "p_oauth_store"
const serverId = "srv_oauth_store"
const settings = { grant: "authorization_code" as const }

beforeAll(async () => {
  db = await createTestDatabase("oauth_store")
  const dataDir = makeTempDir("oauth-store")
  const Sql = pgClientLayer(db.url)
  runtime = ManagedRuntime.make(
    McpOAuthCredentials.DefaultWithoutDependencies.pipe(
      Layer.provideMerge(ConnectionSecrets.Default),
      Layer.provideMerge(SqlToolConfig.layerWith({})),
      Layer.provideMerge(AppConfig.layerWith({ dataDir: dataDir.dir })),
      Layer.provideMerge(Sql),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
      Layer.orDie
    )
  )
  await runtime.runPromise(Effect.gen(function*() {
    yield* coreTables
    yield* mcpOAuth
    const sql = yield* PgClient.PgClient
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES ('u1', 'u1@example.test', 'x')`
    yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${projectId}, ${projectId}, 'u1')`
    yield* sql`INSERT INTO tool_instances (id, project_id, name, kind) VALUES (${serverId}, ${projectId}, 'guarded', 'mcp')`
  }))
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  await db?.drop()
})

const providerOf = () =>
  runtime.runPromise(Effect.map(McpOAuthCredentials, (c) => c.provider({ projectId, id: serverId, oauth: settings })))
const stored = () => runtime.runPromise(Effect.flatMap(McpOAuthCredentials, (c) => c.load(projectId, serverId)))
const tokens = (n: number) => ({ access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "Bearer" })

describe("MCP OAuth credentials: concurrent writers", () => {
  test("an older provider's write keeps what a newer one saved, and the older one then sees it", async () => {
    const session: McpOAuthProvider = await providerOf()
    await session.saveTokens(tokens(1))
    expect(await session.tokens()).toEqual(tokens(1))
    // A user completes an authorization through another provider: new tokens.
    const callback = await providerOf()
    await callback.saveTokens(tokens(2))
    // The session (which cached tokens 1) saves its discovery state: tokens 2 must survive.
    await session.saveDiscoveryState({ authorizationServerUrl: "https://as.example.test" })
    const now = await stored()
    expect(now.tokens).toEqual(tokens(2))
    expect(now.discovery?.authorizationServerUrl).toBe("https://as.example.test")
    expect(await session.tokens()).toEqual(tokens(2))
  })

  test("dropping refused tokens drops only the ones that provider used, not newer ones", async () => {
    const stale = await providerOf()
    await stale.saveTokens(tokens(3))
    const fresh = await providerOf()
    await fresh.saveTokens(tokens(4))
    // The stale provider's refresh with refresh-3 was refused: the SDK invalidates "tokens".
    await stale.invalidateCredentials("tokens")
    expect((await stored()).tokens).toEqual(tokens(4))
    expect(await stale.tokens()).toEqual(tokens(4))
    // Refused again, now with the tokens it holds: they are dropped.
    await stale.invalidateCredentials("tokens")
    expect((await stored()).tokens).toBeUndefined()
  })

  test("many concurrent field writes all land (no lost update)", async () => {
    const providers = await Promise.all(Array.from({ length: 8 }, () => providerOf()))
    await Promise.all(providers.map((p, i) =>
      i % 2 === 0 ? p.saveTokens(tokens(10 + i)) : p.saveClientInformation({ client_id: `client-${i}` })
    ))
    await providers[0]!.saveCodeVerifier("v")
    const final = await stored()
    expect(final.client?.client_id).toMatch(/^client-\d$/)
    expect(final.tokens?.access_token).toMatch(/^access-1\d$/)
  })
})
