import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Agent, AGENT_PAGE_DEFAULT, type AgentPage, type AgentSkill, type AgentSettings } from "../domain/Agent.ts"
import type { ProviderName } from "../domain/Provider.ts"

/** A stored agent: the domain shape with the timestamps as the driver returns them. */
const Row = Schema.Struct({
  ...Agent.fields,
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
})

export interface AgentFields {
  readonly name: string
  readonly description: string
  readonly provider: ProviderName
  readonly model: string
  readonly systemPrompt: string
  readonly tools: ReadonlyArray<string>
  readonly skills: ReadonlyArray<AgentSkill>
  readonly config: typeof AgentSettings.Type
}

/** "Support Bot (EU)" -> "support-bot-eu"; "agent" when nothing is left. */
export const slugOf = (name: string) =>
  name.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60).replace(/-+$/, "") || "agent"

const COLUMNS = "id, project_id, name, slug, description, provider, model, system_prompt, tools, skills, config, created_at, updated_at"

const isoUtc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The agent row aliased `alias` as one json value in the domain Agent's shape (ISO
 * timestamps as toISOString writes them), for statements that read an agent along
 * with something else (the task claim); decoded by `Agent` itself.
 */
export const agentJsonOf = (alias: string) =>
  `json_build_object('id', ${alias}.id, 'projectId', ${alias}.project_id, 'name', ${alias}.name, 'slug', ${alias}.slug,
    'description', ${alias}.description, 'provider', ${alias}.provider, 'model', ${alias}.model,
    'systemPrompt', ${alias}.system_prompt, 'tools', ${alias}.tools, 'skills', ${alias}.skills, 'config', ${alias}.config,
    'createdAt', ${isoUtc(`${alias}.created_at`)}, 'updatedAt', ${isoUtc(`${alias}.updated_at`)})`

/**
 * The `agents` table. Every read a caller can reach is scoped by the caller's
 * project ids; `findInternal` is for the entity, which acts for a task the
 * gateway already authorised.
 */
export class AgentRepo extends Effect.Service<AgentRepo>()("Agents/AgentRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Row)
    const toAgent = (row: unknown) =>
      decode(row).pipe(
        Effect.map((r) => new Agent({ ...r, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() })),
        Effect.orDie
      )
    const one = (rows: ReadonlyArray<unknown>) =>
      rows.length === 0 ? Effect.succeed(Option.none<Agent>()) : Effect.map(toAgent(rows[0]), Option.some)

    /** The name's slug, with -2, -3... when the project already has it. */
    const freeSlug = (projectId: string, name: string) =>
      Effect.gen(function*() {
        const base = slugOf(name)
        const taken = new Set(
          (yield* sql<{ slug: string }>`
            SELECT slug FROM agents WHERE project_id = ${projectId} AND (slug = ${base} OR slug LIKE ${`${base}-%`})`)
            .map((r) => r.slug)
        )
        let slug = base
        for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`
        return slug
      })

    const insert = (projectId: string, fields: AgentFields, createdBy: string | null, slugFor = freeSlug) =>
      Effect.flatMap(slugFor(projectId, fields.name), (slug) =>
        sql`
        INSERT INTO agents (id, project_id, name, slug, description, provider, model, system_prompt, tools, skills, config, created_by)
        VALUES (${`agt_${crypto.randomUUID()}`}, ${projectId}, ${fields.name}, ${slug}, ${fields.description}, ${fields.provider},
                ${fields.model}, ${fields.systemPrompt}, ${JSON.stringify(fields.tools)}::jsonb,
                ${JSON.stringify(fields.skills)}::jsonb, ${JSON.stringify(fields.config)}::jsonb,
                (SELECT id FROM users WHERE id = ${createdBy}))
        RETURNING ${sql.literal(COLUMNS)}`)

    /** A slug no concurrent creation can also pick: the name's slug with a random suffix. */
    const uniqueSlug = (_projectId: string, name: string) =>
      Effect.sync(() => `${slugOf(name)}-${crypto.randomUUID().slice(0, 8)}`)

    // Agents of one name created at once may pick the same slug: the unique index refuses
    // all but one, which pick again; after a few tries the name's slug takes a random suffix
    // (ten concurrent creations of one name answered 500 with retries alone).
    const create = (projectId: string, fields: AgentFields, createdBy: string | null) =>
      insert(projectId, fields, createdBy).pipe(
        Effect.retry({ times: 2 }),
        Effect.orElse(() => insert(projectId, fields, createdBy, uniqueSlug)),
        Effect.orDie,
        Effect.flatMap((rows) => toAgent(rows[0]))
      )

    /** Keyset paging on (created_at, id); `after` is looked up inside the caller's scope so another project's id pages nothing. */
    const list = (projectIds: ReadonlyArray<string>, page: AgentPage = {}) => {
      const scope = page.projectId === undefined ? projectIds : projectIds.filter((p) => p === page.projectId)
      if (scope.length === 0) return Effect.succeed([] as Array<Agent>)
      const limit = page.limit ?? AGENT_PAGE_DEFAULT
      const after = page.after === undefined
        ? sql``
        : sql`AND (created_at, id) > (SELECT created_at, id FROM agents WHERE id = ${page.after} AND ${sql.in("project_id", scope)})`
      return sql`SELECT ${sql.literal(COLUMNS)} FROM agents WHERE ${sql.in("project_id", scope)} ${after} ORDER BY created_at, id LIMIT ${limit}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) => Effect.forEach(rows, toAgent))
      )
    }

    const find = (id: string, projectIds: ReadonlyArray<string>) =>
      projectIds.length === 0
        ? Effect.succeed(Option.none<Agent>())
        : sql`SELECT ${sql.literal(COLUMNS)} FROM agents WHERE id = ${id} AND ${sql.in("project_id", projectIds)}`.pipe(
          Effect.orDie,
          Effect.flatMap(one)
        )

    const findBySlug = (projectId: string, slug: string, projectIds: ReadonlyArray<string>) =>
      !projectIds.includes(projectId)
        ? Effect.succeed(Option.none<Agent>())
        : sql`SELECT ${sql.literal(COLUMNS)} FROM agents WHERE project_id = ${projectId} AND slug = ${slug}`.pipe(
          Effect.orDie,
          Effect.flatMap(one)
        )

    const findInternal = (id: string) =>
      sql`SELECT ${sql.literal(COLUMNS)} FROM agents WHERE id = ${id}`.pipe(Effect.orDie, Effect.flatMap(one))

    const update = (id: string, fields: AgentFields) =>
      sql`
        UPDATE agents SET name = ${fields.name}, description = ${fields.description}, provider = ${fields.provider},
          model = ${fields.model}, system_prompt = ${fields.systemPrompt}, tools = ${JSON.stringify(fields.tools)}::jsonb,
          skills = ${JSON.stringify(fields.skills)}::jsonb, config = ${JSON.stringify(fields.config)}::jsonb, updated_at = now()
        WHERE id = ${id}
        RETURNING ${sql.literal(COLUMNS)}`.pipe(Effect.orDie, Effect.flatMap(one))

    const remove = (id: string) =>
      sql`DELETE FROM agents WHERE id = ${id} RETURNING id`.pipe(Effect.orDie, Effect.map((rows) => rows.length > 0))

    return { create, list, find, findBySlug, findInternal, update, remove } as const
  })
}) {}
