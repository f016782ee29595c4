import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { EventBus } from "../events/EventBus.ts"
import type { Principal, Role } from "../domain/Identity.ts"
import { onInvalidation, publishInvalidation } from "./Invalidation.ts"
import { AuthConfig } from "./AuthConfig.ts"

interface Entry {
  readonly principal: Option.Option<Principal>
  readonly expires: number
}

const CACHE_LIMIT = 50_000

/**
 * Loads who a verified token belongs to: the user (not disabled), the session
 * (not revoked) and the user's project roles, in one query. Results are
 * cached for `principalCacheTtlMs`; logout and membership changes invalidate
 * them on every node (Invalidation.ts), the TTL bounds what a lost event costs.
 */
export class Principals extends Effect.Service<Principals>()("Auth/Principals", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const auth = yield* AuthConfig
    const bus = yield* EventBus
    const cache = new Map<string, Entry>()
    const operatorEmails = new Set(auth.platformOperators)
    const dropUser = (userId: string) => {
      for (const key of cache.keys()) if (key.startsWith(`${userId}|`)) cache.delete(key)
    }
    yield* onInvalidation(bus, (i) => i.kind === "user" && dropUser(i.userId))

    const query = (userId: string, sessionId: string | undefined) =>
      sql<{
        id: string
        email: string
        displayName: string | null
        disabled: boolean
        operator: boolean
        sessionActive: boolean | null
        projects: ReadonlyArray<readonly [string, Role]> | string
      }>`
        SELECT u.id, u.email, u.display_name, u.disabled, u.operator,
          (SELECT s.revoked_at IS NULL FROM auth_sessions s WHERE s.id = ${sessionId ?? ""} AND s.user_id = u.id)
            AS session_active,
          COALESCE((SELECT json_agg(json_build_array(m.project_id, m.role)) FROM project_members m
            WHERE m.user_id = u.id), '[]'::json) AS projects
        FROM users u WHERE u.id = ${userId}`.pipe(
        Effect.map((rows): Option.Option<Principal> => {
          const row = rows[0]
          if (row === undefined || row.disabled) return Option.none()
          if (sessionId !== undefined && row.sessionActive !== true) return Option.none()
          const pairs = typeof row.projects === "string" ? JSON.parse(row.projects) : row.projects
          return Option.some({
            kind: "user",
            userId: row.id,
            email: row.email,
            operator: row.operator || operatorEmails.has(row.email.toLowerCase()),
            displayName: row.displayName ?? undefined,
            sessionId,
            projects: new Map(pairs as ReadonlyArray<readonly [string, Role]>)
          })
        }),
        Effect.orDie
      )

    /** The principal of a user token; `sessionId` absent for tokens of external issuers. */
    const load = (userId: string, sessionId: string | undefined) =>
      Effect.suspend(() => {
        const key = `${userId}|${sessionId ?? ""}`
        const hit = cache.get(key)
        if (hit !== undefined && hit.expires > Date.now()) return Effect.succeed(hit.principal)
        return Effect.tap(query(userId, sessionId), (principal) => {
          if (cache.size >= CACHE_LIMIT) cache.clear()
          cache.set(key, { principal, expires: Date.now() + auth.principalCacheTtlMs })
        })
      })

    /**
     * The cached principal of an active user and session, without an Effect step (the HTTP fast
     * path); undefined when it must be loaded, or was found revoked or disabled (the full request
     * path answers those).
     */
    const cached = (userId: string, sessionId: string | undefined): Principal | undefined => {
      const hit = cache.get(`${userId}|${sessionId ?? ""}`)
      return hit !== undefined && hit.expires > Date.now() ? Option.getOrUndefined(hit.principal) : undefined
    }

    /** Drops this node's entries now, and other nodes' as soon as the event reaches them. */
    const invalidateUser = (userId: string) =>
      Effect.zipRight(Effect.sync(() => dropUser(userId)), publishInvalidation(bus, { kind: "user", userId }))

    /**
     * Drops this node's entries only: for a reader that saw an invalidation and must not read
     * an entry cached before it (this node's own subscriber may not have dropped it yet).
     */
    const forgetUser = (userId: string) => Effect.sync(() => dropUser(userId))

    return { load, cached, invalidateUser, forgetUser } as const
  })
}) {}
