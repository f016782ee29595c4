import { SqlClient } from "@effect/sql"
import { Config, Effect, Option, Redacted, Runtime } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { McpOAuthSettings } from "../domain/Mcp.ts"
import { McpOAuthProvider, type McpOAuthState } from "../mcp/McpOAuth.ts"
import { ConnectionSecrets } from "../sql-tool/ConnectionSecrets.ts"

/** How long a started authorization may be completed. */
const PENDING_MINUTES = 10

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex")

/**
 * Per-project OAuth credentials of remote MCP servers (`mcp_oauth_credentials`):
 * sealed at rest with the SQL tool's AES-256-GCM key (`SQL_TOOL_SECRET_KEY`,
 * else the data directory's key file), the project and server ids as
 * additional data, so a blob copied onto another row does not open. The
 * authorization in progress is bound to the project, the server and the user
 * who started it; its `state` is stored only as a hash.
 */
export class McpOAuthCredentials extends Effect.Service<McpOAuthCredentials>()("Tools/McpOAuthCredentials", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const secrets = yield* ConnectionSecrets
    const app = yield* AppConfig
    const runtime = yield* Effect.runtime<never>()
    const configured = yield* Config.option(Config.string("MCP_OAUTH_REDIRECT_URL")).pipe(Effect.orDie)
    /**
     * Where authorization servers send the user back: a page of the operator's front end that
     * reads `code` and `state` and posts them, with the user's credentials, to
     * `POST /tools/mcp/oauth/callback` (binding the completion to the user who started it).
     */
    const redirectUrl = Option.getOrElse(
      configured,
      () => `${Option.getOrElse(app.publicBaseUrl, () => `http://localhost:${app.httpPort}`).replace(/\/$/, "")}/oauth/mcp/callback`
    )
    const context = (projectId: string, serverId: string) => [projectId, serverId, "mcp-oauth"]

    /** The state in a row read for one server (none yet: empty). */
    const stateOf = (projectId: string, serverId: string, rows: ReadonlyArray<{ readonly sealed: string }>) =>
      rows.length === 0
        ? Effect.succeed({} as McpOAuthState)
        : Effect.map(secrets.open(rows[0].sealed, context(projectId, serverId)), (opened) => JSON.parse(Redacted.value(opened)) as McpOAuthState)

    const load = (projectId: string, serverId: string) =>
      sql<{ sealed: string }>`
        SELECT sealed FROM mcp_oauth_credentials WHERE server_id = ${serverId} AND project_id = ${projectId}`.pipe(
        Effect.flatMap((rows) => stateOf(projectId, serverId, rows)),
        Effect.orDie
      )

    const write = (projectId: string, serverId: string, state: McpOAuthState) =>
      Effect.gen(function*() {
        const sealed = yield* secrets.seal(Redacted.make(JSON.stringify(state)), context(projectId, serverId))
        yield* sql`
          INSERT INTO mcp_oauth_credentials (server_id, project_id, sealed)
          VALUES (${serverId}, ${projectId}, ${sealed})
          ON CONFLICT (server_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`
      })

    /**
     * Read-modify-write of one server's state under its row lock (`FOR UPDATE`), so two writers (a session
     * refreshing tokens, a user completing an authorization) never overwrite each other's fields with a
     * stale copy. The row is made to exist first so there is something to lock.
     */
    const update = (projectId: string, serverId: string, change: (current: McpOAuthState) => Partial<McpOAuthState>) =>
      sql.withTransaction(Effect.gen(function*() {
        const empty = yield* secrets.seal(Redacted.make("{}"), context(projectId, serverId))
        yield* sql`
          INSERT INTO mcp_oauth_credentials (server_id, project_id, sealed)
          VALUES (${serverId}, ${projectId}, ${empty})
          ON CONFLICT (server_id) DO NOTHING`
        const rows = yield* sql<{ sealed: string }>`
          SELECT sealed FROM mcp_oauth_credentials WHERE server_id = ${serverId} AND project_id = ${projectId} FOR UPDATE`
        const current = yield* stateOf(projectId, serverId, rows)
        const next = { ...current, ...change(current) }
        yield* write(projectId, serverId, next)
        return next
      })).pipe(Effect.orDie)

    /** Replaces the whole state (a registration's pre-registered client). */
    const save = (projectId: string, serverId: string, state: McpOAuthState) => write(projectId, serverId, state).pipe(Effect.orDie)

    const run = <A>(effect: Effect.Effect<A>) => Runtime.runPromise(runtime)(effect)

    /**
     * The SDK provider of one registered server. With `onAuthorizationUrl` it may start an
     * authorization (the authorize endpoint); without, it only uses and refreshes stored tokens.
     */
    const provider = (
      server: { readonly projectId: string; readonly id: string; readonly oauth: McpOAuthSettings },
      onAuthorizationUrl?: (url: URL) => void
    ) =>
      new McpOAuthProvider(
        { ...server.oauth, redirectUrl },
        {
          load: () => run(load(server.projectId, server.id)),
          update: (change) => run(update(server.projectId, server.id, change))
        },
        onAuthorizationUrl
      )

    /** Records the authorization just started (one per server: a newer one replaces it). */
    const beginPending = (projectId: string, serverId: string, userId: string, state: string) =>
      sql`
        UPDATE mcp_oauth_credentials
        SET pending_state_hash = ${sha256(state)}, pending_user_id = ${userId},
            pending_expires_at = now() + make_interval(mins => ${PENDING_MINUTES}), updated_at = now()
        WHERE server_id = ${serverId} AND project_id = ${projectId}`.pipe(Effect.asVoid, Effect.orDie)

    /** The pending authorization of this `state` if it is unexpired and `userId` started it; used once. */
    const takePending = (state: string, userId: string) =>
      sql<{ serverId: string; projectId: string }>`
        UPDATE mcp_oauth_credentials
        SET pending_state_hash = NULL, pending_user_id = NULL, pending_expires_at = NULL, updated_at = now()
        WHERE pending_state_hash = ${sha256(state)} AND pending_user_id = ${userId} AND pending_expires_at > now()
        RETURNING server_id, project_id`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    return { provider, load, save, beginPending, takePending, redirectUrl } as const
  }),
  dependencies: [ConnectionSecrets.Default]
}) {}
