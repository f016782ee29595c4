import { Effect } from "effect"
import { Forbidden, NotFound } from "../kernel/WireErrors.ts"
import { CurrentUser, type Role } from "../domain/Identity.ts"

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 }

/**
 * The one tenancy check every service uses. A project the caller is not a
 * member of answers 404 exactly like a missing one (no existence leak); a
 * member without the role gets 403.
 */
export const requireProjectRole = (projectId: string, minimum: Role, what = "project") =>
  Effect.flatMap(CurrentUser, (user): Effect.Effect<Role, NotFound | Forbidden> => {
    const role = user.projects.get(projectId)
    if (role === undefined) return Effect.fail(new NotFound({ message: `${what} not found` }))
    if (rank[role] < rank[minimum]) {
      return Effect.fail(new Forbidden({ message: `requires role ${minimum} in this project` }))
    }
    return Effect.succeed(role)
  })

/** Project ids the caller may read: the scope of every list query. */
export const visibleProjectIds = Effect.map(CurrentUser, (user) => [...user.projects.keys()])

export const hasRole = (role: Role | undefined, minimum: Role) => role !== undefined && rank[role] >= rank[minimum]

/**
 * Host-level capabilities (see README "Privilege model") belong to platform
 * operators, whatever the caller's project role: 403 for everyone else.
 */
export const requireOperator = (what: string) =>
  Effect.flatMap(CurrentUser, (user): Effect.Effect<void, Forbidden> =>
    user.operator ? Effect.void : Effect.fail(new Forbidden({ message: `${what} requires a platform operator` })))

export const isOperator = Effect.map(CurrentUser, (user) => user.operator)
