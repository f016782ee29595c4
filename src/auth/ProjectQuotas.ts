import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { Conflict } from "../kernel/WireErrors.ts"
import { AuthConfig, QUOTA_SETTINGS, type QuotaSettings } from "./AuthConfig.ts"

/**
 * What a tenant may create without bound, bounded: every row a project (or a user, for projects)
 * can add is counted before it is added. The count is read, not locked, so concurrent creates
 * can pass a limit by at most their number; the rate limits keep that small.
 */
export type QuotaKind = keyof QuotaSettings

interface Counted {
  /** Rows the owner holds now (`$1` is the project id, or the user id for `projectsPerUser`). */
  readonly count: string
  readonly what: string
}

const COUNTED: Record<QuotaKind, Counted> = {
  agentsPerProject: { count: "SELECT count(*)::int AS n FROM agents WHERE project_id = $1", what: "agents" },
  workflowsPerProject: { count: "SELECT count(*)::int AS n FROM workflows WHERE project_id = $1", what: "workflows" },
  toolsPerProject: {
    // HTTP tools and MCP servers share one budget: both are tool sources the platform calls out to.
    count: "SELECT ((SELECT count(*) FROM tools WHERE project_id = $1) + (SELECT count(*) FROM tool_instances WHERE project_id = $1))::int AS n",
    what: "tools and MCP servers"
  },
  apiKeysPerProject: {
    count: "SELECT count(*)::int AS n FROM api_keys WHERE project_id = $1 AND revoked_at IS NULL",
    what: "active API keys"
  },
  sqlConnectionsPerProject: {
    count: "SELECT count(*)::int AS n FROM sql_connections WHERE project_id = $1",
    what: "SQL connections"
  },
  alertRulesPerProject: { count: "SELECT count(*)::int AS n FROM alert_rules WHERE project_id = $1", what: "alert rules" },
  documentsPerProject: {
    count: "SELECT count(*)::int AS n FROM rag_documents WHERE project_id = $1",
    what: "RAG documents"
  },
  projectsPerUser: { count: "SELECT count(*)::int AS n FROM projects WHERE owner_id = $1", what: "owned projects" }
}

export class ProjectQuotas extends Effect.Service<ProjectQuotas>()("Auth/ProjectQuotas", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { quotas } = yield* AuthConfig
    /** Fails with a 409 naming the limit and its setting when `owner` already holds its quota of `kind`. */
    const ensureRoom = (kind: QuotaKind, owner: string): Effect.Effect<void, Conflict> => {
      const counted = COUNTED[kind]
      const limit = quotas[kind]
      return sql.unsafe<{ n: number }>(counted.count, [owner]).pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          (rows[0]?.n ?? 0) < limit
            ? Effect.void
            : Effect.fail(new Conflict({ message: `quota reached: at most ${limit} ${counted.what} (${QUOTA_SETTINGS[kind][0]})` }))
        )
      )
    }
    return { ensureRoom } as const
  })
}) {}

/** The check as an effect of the caller's context: `yield* ensureQuota("agentsPerProject", projectId)`. */
export const ensureQuota = (kind: QuotaKind, owner: string) => Effect.flatMap(ProjectQuotas, (q) => q.ensureRoom(kind, owner))
