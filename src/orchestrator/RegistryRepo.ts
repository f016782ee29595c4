import { SqlClient } from "@effect/sql"
import { DateTime, Effect, Option, Schema } from "effect"
import { AgentSkill, type ResolvedCard } from "../domain/AgentCard.ts"
import { RegistryEntry } from "../domain/Orchestration.ts"

const RemoteRow = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  cardUrl: Schema.String,
  endpointUrl: Schema.String,
  protocolVersion: Schema.String,
  skills: Schema.Unknown,
  status: Schema.Literal("available", "unreachable"),
  lastError: Schema.NullOr(Schema.String),
  refreshedAt: Schema.Union(Schema.DateFromSelf, Schema.Date)
})

const LocalRow = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  skills: Schema.Unknown
})

const decodeSkill = Schema.decodeUnknownOption(AgentSkill)
const parseJson = (u: unknown): unknown => {
  if (typeof u !== "string") return u
  try {
    return JSON.parse(u)
  } catch {
    return []
  }
}

/**
 * Skills as stored: cards give AgentSkill objects; platform agents may store
 * plain names or partial objects, which become skills with what they have.
 */
export const normaliseSkills = (raw: unknown): Array<AgentSkill> => {
  const list = parseJson(raw)
  if (!Array.isArray(list)) return []
  return list.flatMap((s): Array<AgentSkill> => {
    if (typeof s === "string" && s.length > 0) return [{ id: s, name: s, description: "", tags: [] }]
    const full = decodeSkill(s)
    if (Option.isSome(full)) return [full.value]
    if (typeof s === "object" && s !== null) {
      const o = s as Record<string, unknown>
      const name = typeof o.name === "string" ? o.name : typeof o.id === "string" ? o.id : undefined
      if (name === undefined || name.length === 0) return []
      return [{
        id: typeof o.id === "string" && o.id.length > 0 ? o.id : name,
        name,
        description: typeof o.description === "string" ? o.description : "",
        tags: Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === "string") : []
      }]
    }
    return []
  })
}

/** Registry storage: remote agents in `orchestrator_agents`, platform agents read from `agents`. */
export class RegistryRepo extends Effect.Service<RegistryRepo>()("Orchestrator/RegistryRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decodeRemote = Schema.decodeUnknown(RemoteRow)
    const decodeLocal = Schema.decodeUnknown(LocalRow)

    // Entries are made from decoded rows and normalised skills: the class's own validation
    // would check the same fields again (~130 µs an entry, on every delivery's lookup).
    const remoteEntry = (row: unknown) =>
      Effect.map(decodeRemote(row), (r) =>
        new RegistryEntry({
          id: r.id,
          projectId: r.projectId,
          kind: "remote",
          name: r.name,
          description: r.description,
          skills: normaliseSkills(r.skills),
          cardUrl: r.cardUrl,
          endpointUrl: r.endpointUrl,
          protocolVersion: r.protocolVersion,
          status: r.status,
          lastError: r.lastError,
          refreshedAt: DateTime.unsafeFromDate(r.refreshedAt)
        }, true))

    const localEntry = (row: unknown) =>
      Effect.map(decodeLocal(row), (r) =>
        new RegistryEntry({
          id: r.id,
          projectId: r.projectId,
          kind: "local",
          name: r.name,
          description: r.description,
          skills: normaliseSkills(r.skills),
          cardUrl: null,
          endpointUrl: null,
          protocolVersion: null,
          status: "available",
          lastError: null,
          refreshedAt: null
        }, true))

    const remoteColumns = sql`id, project_id, name, description, card_url, endpoint_url, protocol_version,
      skills, status, last_error, refreshed_at`

    /** Insert or refresh by (project, card URL): registering the same card twice updates it. */
    const upsertRemote = (projectId: string, cardUrl: string, card: ResolvedCard, raw: unknown, userId: string) =>
      sql`
        INSERT INTO orchestrator_agents
          (id, project_id, name, description, card_url, endpoint_url, protocol_version, card, skills, created_by)
        VALUES (${`ra_${crypto.randomUUID()}`}, ${projectId}, ${card.name}, ${card.description}, ${cardUrl},
          ${card.endpointUrl}, ${card.protocolVersion}, ${JSON.stringify(raw)}::jsonb,
          ${JSON.stringify(card.skills)}::jsonb, ${userId})
        ON CONFLICT (project_id, card_url) DO UPDATE SET
          name = EXCLUDED.name, description = EXCLUDED.description, endpoint_url = EXCLUDED.endpoint_url,
          protocol_version = EXCLUDED.protocol_version, card = EXCLUDED.card, skills = EXCLUDED.skills,
          status = 'available', last_error = NULL, refreshed_at = now()
        RETURNING ${remoteColumns}`.pipe(
        Effect.flatMap((rows) => remoteEntry(rows[0])),
        Effect.orDie
      )

    const markRefreshed = (id: string, card: ResolvedCard, raw: unknown) =>
      sql`
        UPDATE orchestrator_agents SET name = ${card.name}, description = ${card.description},
          endpoint_url = ${card.endpointUrl}, protocol_version = ${card.protocolVersion},
          card = ${JSON.stringify(raw)}::jsonb, skills = ${JSON.stringify(card.skills)}::jsonb,
          status = 'available', last_error = NULL, refreshed_at = now()
        WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    const markUnreachable = (id: string, error: string) =>
      sql`UPDATE orchestrator_agents SET status = 'unreachable', last_error = ${error} WHERE id = ${id}`.pipe(
        Effect.asVoid,
        Effect.orDie
      )

    const listRemote = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0
        ? Effect.succeed([])
        : sql`SELECT ${remoteColumns} FROM orchestrator_agents WHERE ${sql.in("project_id", projectIds)}
            ORDER BY created_at`.pipe(Effect.flatMap(Effect.forEach(remoteEntry)), Effect.orDie)

    const listLocal = (projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0
        ? Effect.succeed([])
        : sql`SELECT id, project_id, name, description, skills FROM agents
            WHERE ${sql.in("project_id", projectIds)} ORDER BY created_at`.pipe(
            Effect.flatMap(Effect.forEach(localEntry)),
            Effect.orDie
          )

    const findRemote = (projectId: string, id: string) =>
      Effect.flatMap(
        sql`SELECT ${remoteColumns} FROM orchestrator_agents WHERE project_id = ${projectId} AND id = ${id}`,
        (rows) => rows.length > 0 ? Effect.map(remoteEntry(rows[0]), Option.some) : Effect.succeed(Option.none<RegistryEntry>())
      )

    const findLocal = (projectId: string, id: string) =>
      Effect.flatMap(
        sql`SELECT id, project_id, name, description, skills FROM agents WHERE project_id = ${projectId} AND id = ${id}`,
        (rows) => rows.length > 0 ? Effect.map(localEntry(rows[0]), Option.some) : Effect.succeed(Option.none<RegistryEntry>())
      )

    /**
     * The entry of (project, id) as one JSON value, null when neither table has it: a
     * subquery for a statement that needs the entry beside its own work (the router's delivery
     * insert), read back by `entryFromJson`. The table the id's prefix names is tried first.
     */
    const entryJson = (projectId: string, id: string) => {
      const remote = sql`(SELECT json_build_object('kind', 'remote', 'id', id, 'projectId', project_id, 'name', name,
          'description', description, 'cardUrl', card_url, 'endpointUrl', endpoint_url, 'protocolVersion', protocol_version,
          'skills', skills, 'status', status, 'lastError', last_error, 'refreshedAt', refreshed_at)
        FROM orchestrator_agents WHERE project_id = ${projectId} AND id = ${id})`
      const local = sql`(SELECT json_build_object('kind', 'local', 'id', id, 'projectId', project_id, 'name', name,
          'description', description, 'skills', skills)
        FROM agents WHERE project_id = ${projectId} AND id = ${id})`
      return id.startsWith("ra_") ? sql`COALESCE(${remote}, ${local})` : sql`COALESCE(${local}, ${remote})`
    }

    const entryFromJson = (value: unknown): Effect.Effect<Option.Option<RegistryEntry>> => {
      const json = parseJson(value)
      if (json === null || typeof json !== "object") return Effect.succeed(Option.none())
      const entry = (json as { kind?: unknown }).kind === "remote" ? remoteEntry(json) : localEntry(json)
      return Effect.orDie(Effect.map(entry, Option.some))
    }

    /**
     * Either kind by id. The table its prefix names is read first (registered agents are
     * `ra_…`, platform agents `agt_…`), so a found agent costs one statement; the other
     * table is still read when the first has no such row.
     */
    const find = (projectId: string, id: string) => {
      const [first, second] = id.startsWith("ra_") ? [findRemote, findLocal] : [findLocal, findRemote]
      return first(projectId, id).pipe(
        Effect.flatMap((found) => Option.isSome(found) ? Effect.succeed(found) : second(projectId, id)),
        Effect.orDie
      )
    }

    /** Every remote entry, for the periodic card refresh (all projects). */
    const allRemote = sql`SELECT ${remoteColumns} FROM orchestrator_agents`.pipe(
      Effect.flatMap(Effect.forEach(remoteEntry)),
      Effect.orDie
    )

    const deleteRemote = (projectId: string, id: string) =>
      sql`DELETE FROM orchestrator_agents WHERE project_id = ${projectId} AND id = ${id} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    return {
      upsertRemote,
      markRefreshed,
      markUnreachable,
      listRemote,
      listLocal,
      find,
      entryJson,
      entryFromJson,
      allRemote,
      deleteRemote
    }
  })
}) {}
