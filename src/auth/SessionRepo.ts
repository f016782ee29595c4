import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { randomToken, sha256Hex } from "./Secrets.ts"
import { AuthConfig } from "./AuthConfig.ts"

export type RotateResult =
  | { readonly _tag: "Rotated"; readonly userId: string; readonly sessionId: string; readonly refreshToken: string }
  | { readonly _tag: "Invalid" }
  /** An already-used token came back: someone holds a copy, so the whole family was revoked. */
  | { readonly _tag: "Reused"; readonly userId: string; readonly sessionId: string }

/**
 * Login sessions and their refresh-token families. A refresh token is usable
 * once: `rotate` marks it used with a compare-and-set and issues its successor.
 */
export class SessionRepo extends Effect.Service<SessionRepo>()("Auth/SessionRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const auth = yield* AuthConfig

    const insertToken = (sessionId: string) =>
      Effect.suspend(() => {
        const refreshToken = randomToken()
        const expiresAt = new Date(Date.now() + auth.refreshTokenTtlSeconds * 1000)
        return sql`
          INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
          VALUES (${sha256Hex(refreshToken)}, ${sessionId}, ${expiresAt})`.pipe(Effect.as(refreshToken))
      })

    const create = (userId: string) =>
      Effect.gen(function*() {
        const sessionId = crypto.randomUUID()
        yield* sql`INSERT INTO auth_sessions (id, user_id) VALUES (${sessionId}, ${userId})`
        const refreshToken = yield* insertToken(sessionId)
        return { sessionId, refreshToken }
      }).pipe(Effect.orDie)

    const revoke = (sessionId: string, reason: string) =>
      sql`
        UPDATE auth_sessions SET revoked_at = now(), revoked_reason = ${reason}
        WHERE id = ${sessionId} AND revoked_at IS NULL`.pipe(Effect.asVoid, Effect.orDie)

    const rotate = (refreshToken: string): Effect.Effect<RotateResult> =>
      Effect.gen(function*() {
        const hash = sha256Hex(refreshToken)
        // The compare-and-set: of two concurrent refreshes with one token, one wins.
        const claimed = yield* sql<{ sessionId: string; userId: string }>`
          UPDATE refresh_tokens t SET used_at = now()
          FROM auth_sessions s
          WHERE t.token_hash = ${hash} AND t.used_at IS NULL AND t.expires_at > now()
            AND s.id = t.session_id AND s.revoked_at IS NULL
          RETURNING t.session_id, s.user_id`
        if (claimed.length === 1) {
          const { sessionId, userId } = claimed[0]
          const next = yield* insertToken(sessionId)
          return { _tag: "Rotated", userId, sessionId, refreshToken: next } as const
        }
        const known = yield* sql<{ sessionId: string; userId: string; usedAt: Date | null }>`
          SELECT t.session_id, s.user_id, t.used_at FROM refresh_tokens t
          JOIN auth_sessions s ON s.id = t.session_id
          WHERE t.token_hash = ${hash}`
        if (known.length === 1 && known[0].usedAt !== null) {
          yield* revoke(known[0].sessionId, "refresh token reuse")
          return { _tag: "Reused", userId: known[0].userId, sessionId: known[0].sessionId } as const
        }
        return { _tag: "Invalid" } as const
      }).pipe(Effect.orDie)

    return { create, rotate, revoke } as const
  })
}) {}
