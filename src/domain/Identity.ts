import { Context, Schema } from "effect"

export const Role = Schema.Literal("admin", "developer", "viewer")
export type Role = typeof Role.Type

/**
 * Who is calling, provided by the `Authentication` middleware to every
 * authenticated handler. Repositories scope every query on `projects`: a
 * resource of a project the caller is not a member of does not exist for them.
 */
export interface Principal {
  readonly kind: "user" | "apiKey" | "service"
  readonly userId: string
  readonly email: string
  /**
   * A platform operator: above every project role, holds the host-level
   * capabilities (stdio MCP catalog, writable / out-of-project SQL
   * connections). Never set for API keys, which are scoped to one project.
   */
  readonly operator: boolean
  /** projectId → the caller's role in that project. */
  readonly projects: ReadonlyMap<string, Role>
  readonly displayName?: string | undefined
  /** The login session (refresh-token family) of a user token: what logout revokes. */
  readonly sessionId?: string | undefined
  /** Set for kind "apiKey". */
  readonly apiKeyId?: string | undefined
}

export class CurrentUser extends Context.Tag("Auth/CurrentUser")<CurrentUser, Principal>() {}
