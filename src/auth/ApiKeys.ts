import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { onInvalidation, publishInvalidation } from "./Invalidation.ts"
import { EventBus } from "../events/EventBus.ts"
import type { Principal, Role } from "../domain/Identity.ts"
import { randomToken, sha256Hex } from "./Secrets.ts"
import { AuthConfig } from "./AuthConfig.ts"

/** Every API key starts with this, so the gateway tells keys from JWTs without a lookup. */
export const API_KEY_PREFIX = "ak_"

export interface ApiKeyInfo {
  readonly id: string
  readonly projectId: string
  readonly name: string
  readonly prefix: string
  readonly role: Role
  readonly createdBy: string
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
}

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 }

/**
 * API keys for machine clients: scoped to one project with a role, shown once
 * at creation and stored as a SHA-256 hash. A key never grants more than its
 * creator currently holds in the project.
 */
export class ApiKeys extends Effect.Service<ApiKeys>()("Gateway/ApiKeys", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const auth = yield* AuthConfig
    const bus = yield* EventBus
    const cache = new Map<string, { principal: Option.Option<Principal>; expires: number }>()
    yield* onInvalidation(bus, (i) => i.kind === "apiKeys" && cache.clear())
    /** Membership changes can narrow what keys grant; revocations end them. */
    const invalidate = Effect.zipRight(Effect.sync(() => cache.clear()), publishInvalidation(bus, { kind: "apiKeys" }))

    const create = (input: {
      projectId: string
      name: string
      role: Role
      createdBy: string
      expiresAt: Date | null
    }) =>
      Effect.gen(function*() {
        const id = crypto.randomUUID()
        const key = `${API_KEY_PREFIX}${randomToken(30)}`
        const rows = yield* sql<ApiKeyInfo>`
          INSERT INTO api_keys (id, project_id, name, key_hash, key_prefix, role, created_by, expires_at)
          VALUES (${id}, ${input.projectId}, ${input.name}, ${sha256Hex(key)}, ${key.slice(0, 10)},
            ${input.role}, ${input.createdBy}, ${input.expiresAt})
          RETURNING id, project_id, name, key_prefix AS prefix, role, created_by, created_at, expires_at,
            revoked_at, last_used_at`
        return { key, info: rows[0] }
      }).pipe(Effect.orDie)

    const list = (projectId: string) =>
      sql<ApiKeyInfo>`
        SELECT id, project_id, name, key_prefix AS prefix, role, created_by, created_at, expires_at,
          revoked_at, last_used_at
        FROM api_keys WHERE project_id = ${projectId} ORDER BY created_at`.pipe(Effect.orDie)

    const revoke = (projectId: string, id: string) =>
      sql<{ id: string }>`
        UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
        WHERE id = ${id} AND project_id = ${projectId} RETURNING id`.pipe(
        Effect.tap(() => invalidate),
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    const lookup = (key: string) =>
      sql<{ id: string; projectId: string; role: Role; createdBy: string; email: string; memberRole: Role | null }>`
        SELECT k.id, k.project_id, k.role, k.created_by, u.email, m.role AS member_role
        FROM api_keys k
        JOIN users u ON u.id = k.created_by AND NOT u.disabled
        LEFT JOIN project_members m ON m.project_id = k.project_id AND m.user_id = k.created_by
        WHERE k.key_hash = ${sha256Hex(key)} AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())`.pipe(
        Effect.map((rows): Option.Option<Principal> => {
          const row = rows[0]
          // A creator who left the project takes the key's access with them.
          if (row === undefined || row.memberRole === null) return Option.none()
          const role = rank[row.memberRole] < rank[row.role] ? row.memberRole : row.role
          return Option.some({
            kind: "apiKey",
            userId: row.createdBy,
            email: row.email,
            apiKeyId: row.id,
            // A key is a project credential: it never carries its creator's operator power.
            operator: false,
            projects: new Map([[row.projectId, role]])
          })
        }),
        Effect.tap((p) =>
          Option.isSome(p) && p.value.apiKeyId
            ? sql`UPDATE api_keys SET last_used_at = now() WHERE id = ${p.value.apiKeyId}`.pipe(Effect.ignore)
            : Effect.void
        ),
        Effect.orDie
      )

    /** The principal of a presented key (cached like user principals). */
    const resolve = (key: string) =>
      Effect.suspend(() => {
        const hit = cache.get(key)
        if (hit !== undefined && hit.expires > Date.now()) return Effect.succeed(hit.principal)
        return Effect.tap(lookup(key), (principal) => {
          if (cache.size >= 10_000) cache.clear()
          cache.set(key, { principal, expires: Date.now() + auth.principalCacheTtlMs })
        })
      })

    return { create, list, revoke, resolve, invalidate } as const
  })
}) {}
