import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { ConnectionInfo, Dialect } from "../domain/SqlTool.ts"

/** A stored row: the sealed secret stays inside the service, never in `ConnectionInfo`. */
export interface StoredConnection {
  readonly info: ConnectionInfo
  readonly secret: string
  /** Created by a platform operator: may write (when writable) and open any SQLite path. */
  readonly approved: boolean
}

const Row = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  dialect: Dialect,
  target: Schema.String,
  secret: Schema.String,
  writable: Schema.Boolean,
  approvedBy: Schema.NullOr(Schema.String),
  createdAt: Schema.Union(Schema.DateFromSelf, Schema.String)
})

const toStored = (row: typeof Row.Type): StoredConnection => ({
  secret: row.secret,
  approved: row.approvedBy !== null,
  info: new ConnectionInfo({
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    dialect: row.dialect,
    target: row.target,
    writable: row.writable,
    createdAt: row.createdAt instanceof Date ? row.createdAt.toISOString() : new Date(row.createdAt).toISOString()
  })
})

export class ConnectionRepo extends Effect.Service<ConnectionRepo>()("SqlTool/ConnectionRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Row)
    const columns = sql`id, project_id, name, dialect, target, secret, writable, approved_by, created_at`

    const insert = (row: {
      readonly id: string
      readonly projectId: string
      readonly name: string
      readonly dialect: Dialect
      readonly target: string
      readonly secret: string
      readonly writable: boolean
      readonly createdBy: string
      readonly approvedBy: string | null
    }) =>
      sql`
        INSERT INTO sql_connections (id, project_id, name, dialect, target, secret, writable, created_by, approved_by)
        VALUES (${row.id}, ${row.projectId}, ${row.name}, ${row.dialect}, ${row.target}, ${row.secret}, ${row.writable},
          ${row.createdBy}, ${row.approvedBy})
        ON CONFLICT (project_id, name) DO NOTHING
        RETURNING ${columns}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.succeed(Option.none<StoredConnection>())
            : Effect.map(Effect.orDie(decode(rows[0])), (r) => Option.some(toStored(r)))
        )
      )

    const find = (id: string) =>
      sql`SELECT ${columns} FROM sql_connections WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.succeed(Option.none<StoredConnection>())
            : Effect.map(Effect.orDie(decode(rows[0])), (r) => Option.some(toStored(r)))
        )
      )

    const findByName = (projectId: string, name: string) =>
      sql`SELECT ${columns} FROM sql_connections WHERE project_id = ${projectId} AND name = ${name}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.succeed(Option.none<StoredConnection>())
            : Effect.map(Effect.orDie(decode(rows[0])), (r) => Option.some(toStored(r)))
        )
      )

    const listForProjects = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0
        ? Effect.succeed([] as ReadonlyArray<ConnectionInfo>)
        : sql`SELECT ${columns} FROM sql_connections WHERE ${sql.in("project_id", projectIds)} ORDER BY created_at, name`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => Effect.forEach(rows, (r) => Effect.orDie(decode(r)))),
          Effect.map((rows) => rows.map((r) => toStored(r).info))
        )

    const remove = (id: string) =>
      sql`DELETE FROM sql_connections WHERE id = ${id} RETURNING id`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.length > 0)
      )

    /** Every sealed secret with its binding: the start-up re-seal pass. */
    const allSecrets = sql<{ id: string; projectId: string; secret: string }>`
      SELECT id, project_id, secret FROM sql_connections`.pipe(Effect.orDie)

    /** Compare-and-set, so two nodes re-sealing the same row at once both leave a valid secret. */
    const replaceSecret = (id: string, from: string, to: string) =>
      sql`UPDATE sql_connections SET secret = ${to} WHERE id = ${id} AND secret = ${from}`.pipe(Effect.asVoid, Effect.orDie)

    return { insert, find, findByName, listForProjects, remove, allSecrets, replaceSecret } as const
  })
}) {}
