import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { Role } from "../domain/Identity.ts"

export interface ProjectRow {
  readonly id: string
  readonly name: string
  readonly ownerId: string
  readonly createdAt: Date
}

export interface MemberRow {
  readonly userId: string
  readonly email: string
  readonly displayName: string | null
  readonly role: Role
  readonly createdAt: Date
}

/** Projects and memberships. Callers pass the ids the caller may see; nothing here bypasses that scope. */
export class ProjectRepo extends Effect.Service<ProjectRepo>()("Gateway/ProjectRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = (name: string, ownerId: string) =>
      Effect.gen(function*() {
        const id = crypto.randomUUID()
        const rows = yield* sql<ProjectRow>`
          INSERT INTO projects (id, name, owner_id) VALUES (${id}, ${name}, ${ownerId})
          RETURNING id, name, owner_id, created_at`
        yield* sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${id}, ${ownerId}, 'admin')`
        return rows[0]
      }).pipe(sql.withTransaction, Effect.orDie)

    const listVisible = (ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed([] as ReadonlyArray<ProjectRow>)
        : sql<ProjectRow>`
          SELECT id, name, owner_id, created_at FROM projects WHERE ${sql.in("id", ids)} ORDER BY created_at, id`.pipe(
          Effect.orDie
        )

    const find = (id: string) =>
      sql<ProjectRow>`SELECT id, name, owner_id, created_at FROM projects WHERE id = ${id}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    const members = (projectId: string) =>
      sql<MemberRow>`
        SELECT m.user_id, u.email, u.display_name, m.role, m.created_at
        FROM project_members m JOIN users u ON u.id = m.user_id
        WHERE m.project_id = ${projectId} ORDER BY m.created_at, u.email`.pipe(Effect.orDie)

    const findUserByEmail = (email: string) =>
      sql<{ id: string }>`SELECT id FROM users WHERE email = ${email}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.id)),
        Effect.orDie
      )

    /** false when the user already is a member. */
    const addMember = (projectId: string, userId: string, role: Role) =>
      sql`
        INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${userId}, ${role})
        ON CONFLICT (project_id, user_id) DO NOTHING RETURNING user_id`.pipe(
        Effect.map((rows) => rows.length === 1),
        Effect.orDie
      )

    const admins = (projectId: string) =>
      sql<{ userId: string }>`
        SELECT user_id FROM project_members WHERE project_id = ${projectId} AND role = 'admin'`.pipe(
        Effect.map((rows) => rows.map((r) => r.userId)),
        Effect.orDie
      )

    /** false when the user is not a member. */
    const setRole = (projectId: string, userId: string, role: Role) =>
      sql`
        UPDATE project_members SET role = ${role}
        WHERE project_id = ${projectId} AND user_id = ${userId} RETURNING user_id`.pipe(
        Effect.map((rows) => rows.length === 1),
        Effect.orDie
      )

    const removeMember = (projectId: string, userId: string) =>
      sql`DELETE FROM project_members WHERE project_id = ${projectId} AND user_id = ${userId} RETURNING user_id`.pipe(
        Effect.map((rows) => rows.length === 1),
        Effect.orDie
      )

    return { create, listVisible, find, members, findUserByEmail, addMember, admins, setRole, removeMember } as const
  })
}) {}
