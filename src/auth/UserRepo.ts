import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { Conflict } from "../kernel/WireErrors.ts"

export interface UserRow {
  readonly id: string
  readonly email: string
  readonly passwordHash: string
  readonly displayName: string | null
  readonly disabled: boolean
}

export class UserRepo extends Effect.Service<UserRepo>()("Auth/UserRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * A user and their personal project (they are its admin), in one
     * transaction: every user has at least one project to work in.
     */
    const register = (input: { email: string; passwordHash: string; displayName: string | null }) =>
      Effect.gen(function*() {
        const id = crypto.randomUUID()
        const inserted = yield* sql`
          INSERT INTO users (id, email, password_hash, display_name)
          VALUES (${id}, ${input.email}, ${input.passwordHash}, ${input.displayName})
          ON CONFLICT (email) DO NOTHING
          RETURNING id`
        if (inserted.length === 0) return yield* Effect.fail(new Conflict({ message: "email is already registered" }))
        const projectId = crypto.randomUUID()
        const name = `${input.displayName ?? input.email.split("@")[0]}'s project`
        yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${projectId}, ${name}, ${id})`
        yield* sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${id}, 'admin')`
        return { id, email: input.email, displayName: input.displayName, projectId }
      }).pipe(
        sql.withTransaction,
        Effect.catchTag("SqlError", Effect.die)
      )

    const findByEmail = (email: string) =>
      sql<UserRow>`
        SELECT id, email, password_hash, display_name, disabled FROM users WHERE email = ${email}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    /** Sets the stored operator flag; None for an unknown email. */
    const setOperator = (email: string, operator: boolean) =>
      sql<{ id: string; email: string; operator: boolean }>`
        UPDATE users SET operator = ${operator}, updated_at = now() WHERE email = ${email}
        RETURNING id, email, operator`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    return { register, findByEmail, setOperator } as const
  })
}) {}
