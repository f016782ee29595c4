import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Agents addressable by a slug unique in their project (`GET /agents/by-slug/{projectId}/{slug}`),
 * derived from the name at creation and kept on rename so links stay valid. Existing agents get
 * theirs from their names; a name shared in one project takes a piece of the id to stay unique.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE agents ADD COLUMN IF NOT EXISTS slug TEXT`
  yield* sql`
    WITH base AS (
      SELECT id, project_id, created_at,
        coalesce(nullif(left(trim(both '-' from regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')), 60), ''), 'agent') AS slug
      FROM agents WHERE slug IS NULL
    ), numbered AS (
      SELECT id, slug, row_number() OVER (PARTITION BY project_id, slug ORDER BY created_at, id) AS n FROM base
    )
    UPDATE agents a SET slug = CASE WHEN numbered.n = 1 THEN numbered.slug ELSE numbered.slug || '-' || substr(a.id, 5, 8) END
    FROM numbered WHERE a.id = numbered.id`
  yield* sql`ALTER TABLE agents ALTER COLUMN slug SET NOT NULL`
  // A row inserted without one (seed scripts, tests writing SQL directly) still gets a unique slug.
  yield* sql`ALTER TABLE agents ALTER COLUMN slug SET DEFAULT ('agent-' || substr(md5(random()::text || clock_timestamp()::text), 1, 12))`
  yield* sql`CREATE UNIQUE INDEX IF NOT EXISTS agents_project_slug ON agents (project_id, slug)`
})
