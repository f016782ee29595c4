import { Effect } from "effect"
import type { Principal } from "../domain/Identity.ts"
import { hasRole } from "../auth/ProjectAccess.ts"
import { BadRequest, Forbidden, NotFound } from "../kernel/WireErrors.ts"

/** The service principal acting for nobody: the platform's own trusted caller. */
const isPlatformService = (principal: Principal) => principal.kind === "service" && principal.projects.size === 0

/**
 * The project a submitted job belongs to. A member names it (or leaves it out when they have
 * exactly one project) and needs the developer role; another tenant's project answers 404.
 * The platform service submits to any project, or to its own scope `""` when it names none.
 */
export const submitScope = (
  principal: Principal,
  projectId: string | undefined
): Effect.Effect<string, BadRequest | Forbidden | NotFound> => {
  if (isPlatformService(principal)) return Effect.succeed(projectId ?? "")
  if (projectId === undefined) {
    if (principal.projects.size === 1) return Effect.succeed([...principal.projects.keys()][0])
    return Effect.fail(new BadRequest({ message: "projectId is required" }))
  }
  const role = principal.projects.get(projectId)
  if (role === undefined) return Effect.fail(new NotFound({ message: "project not found" }))
  if (!hasRole(role, "developer")) return Effect.fail(new Forbidden({ message: "requires role developer in this project" }))
  return Effect.succeed(projectId)
}

/** Where a job may be read from: the named project if the caller is a member, else all of theirs. */
export const readScopes = (principal: Principal, projectId: string | undefined): ReadonlyArray<string> => {
  if (isPlatformService(principal)) return [projectId ?? ""]
  if (projectId !== undefined) return principal.projects.has(projectId) ? [projectId] : []
  return [...principal.projects.keys()]
}
