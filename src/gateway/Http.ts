import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { CurrentUser, type Principal, type Role } from "../domain/Identity.ts"
import { Principals } from "../auth/Principals.ts"
import { requireProjectRole } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { Conflict, Forbidden, NotFound } from "../kernel/WireErrors.ts"
import { ApiKeys } from "../auth/ApiKeys.ts"
import { ProjectRepo } from "./ProjectRepo.ts"

/** Managing tenants is for people (or services acting for one), not for machine keys. */
const requireHumanCaller = Effect.flatMap(CurrentUser, (user: Principal) =>
  user.kind === "apiKey" || user.userId === "service"
    ? Effect.fail(new Forbidden({ message: "this operation needs a user token" }))
    : Effect.succeed(user))

export const ProjectsHttpLive = HttpApiBuilder.group(PlatformApi, "projects", (handlers) =>
  Effect.gen(function*() {
    const projects = yield* ProjectRepo
    const principals = yield* Principals
    const apiKeys = yield* ApiKeys

    const getVisible = (projectId: string) =>
      Effect.gen(function*() {
        const role = yield* requireProjectRole(projectId, "viewer")
        const row = yield* projects.find(projectId)
        if (Option.isNone(row)) return yield* Effect.fail(new NotFound({ message: "project not found" }))
        return { ...row.value, role }
      })

    /** Every change of who holds what drops cached principals and key grants. */
    const membershipChanged = (userId: string) => Effect.zipRight(principals.invalidateUser(userId), apiKeys.invalidate)

    const findMember = (projectId: string, userId: string) =>
      Effect.flatMap(projects.members(projectId), (members) => {
        const member = members.find((m) => m.userId === userId)
        return member ? Effect.succeed(member) : Effect.fail(new NotFound({ message: "member not found" }))
      })

    /** The last admin can be neither demoted nor removed: someone must be able to manage the project. */
    const keepAnAdmin = (projectId: string, userId: string, newRole: Role | undefined) =>
      Effect.flatMap(projects.admins(projectId), (admins) =>
        admins.length === 1 && admins[0] === userId && newRole !== "admin"
          ? Effect.fail(new Conflict({ message: "a project needs at least one admin" }))
          : Effect.void)

    return handlers
      .handle("listProjects", () =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const rows = yield* projects.listVisible([...user.projects.keys()])
          return rows.map((row) => ({ ...row, role: user.projects.get(row.id)! }))
        }))
      .handle("createProject", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* requireHumanCaller
          yield* ensureQuota("projectsPerUser", user.userId)
          const row = yield* projects.create(payload.name.trim(), user.userId)
          yield* membershipChanged(user.userId)
          return { ...row, role: "admin" as const }
        }))
      .handle("getProject", ({ path }) => getVisible(path.projectId))
      .handle("listMembers", ({ path }) =>
        Effect.zipRight(requireProjectRole(path.projectId, "viewer"), projects.members(path.projectId)))
      .handle("addMember", ({ path, payload }) =>
        Effect.gen(function*() {
          yield* requireHumanCaller
          yield* requireProjectRole(path.projectId, "admin")
          const userId = yield* projects.findUserByEmail(payload.email.trim().toLowerCase()).pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.fail(new NotFound({ message: "no user with this email" })),
              onSome: Effect.succeed
            }))
          )
          const added = yield* projects.addMember(path.projectId, userId, payload.role)
          if (!added) return yield* Effect.fail(new Conflict({ message: "already a member of this project" }))
          yield* membershipChanged(userId)
          return yield* findMember(path.projectId, userId)
        }))
      .handle("setMemberRole", ({ path, payload }) =>
        Effect.gen(function*() {
          yield* requireHumanCaller
          yield* requireProjectRole(path.projectId, "admin")
          yield* keepAnAdmin(path.projectId, path.userId, payload.role)
          const updated = yield* projects.setRole(path.projectId, path.userId, payload.role)
          if (!updated) return yield* Effect.fail(new NotFound({ message: "member not found" }))
          yield* membershipChanged(path.userId)
          return yield* findMember(path.projectId, path.userId)
        }))
      .handle("removeMember", ({ path }) =>
        Effect.gen(function*() {
          yield* requireHumanCaller
          yield* requireProjectRole(path.projectId, "admin")
          yield* keepAnAdmin(path.projectId, path.userId, undefined)
          const removed = yield* projects.removeMember(path.projectId, path.userId)
          if (!removed) return yield* Effect.fail(new NotFound({ message: "member not found" }))
          yield* membershipChanged(path.userId)
        }))
      .handle("createApiKey", ({ path, payload }) =>
        Effect.gen(function*() {
          const user = yield* requireHumanCaller
          yield* requireProjectRole(path.projectId, "admin")
          yield* ensureQuota("apiKeysPerProject", path.projectId)
          const { info, key } = yield* apiKeys.create({
            projectId: path.projectId,
            name: payload.name.trim(),
            role: payload.role,
            createdBy: user.userId,
            expiresAt: payload.expiresInDays === undefined
              ? null
              : new Date(Date.now() + payload.expiresInDays * 86_400_000)
          })
          return { ...info, key }
        }))
      .handle("listApiKeys", ({ path }) =>
        Effect.zipRight(
          Effect.zipRight(requireHumanCaller, requireProjectRole(path.projectId, "admin")),
          apiKeys.list(path.projectId)
        ))
      .handle("revokeApiKey", ({ path }) =>
        Effect.gen(function*() {
          yield* requireHumanCaller
          yield* requireProjectRole(path.projectId, "admin")
          const revoked = yield* apiKeys.revoke(path.projectId, path.keyId)
          if (!revoked) return yield* Effect.fail(new NotFound({ message: "API key not found" }))
        }))
  }))
