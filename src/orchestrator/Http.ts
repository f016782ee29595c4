import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { Patterns } from "./Patterns.ts"
import { Registry } from "./Registry.ts"
import { Router } from "./Router.ts"

/** The projects a list/search covers: one named project (must be visible) or all the caller's. */
const scope = (projectId: string | undefined) =>
  projectId === undefined
    ? visibleProjectIds
    : Effect.as(requireProjectRole(projectId, "viewer"), [projectId])

export const OrchestratorHttpLive = HttpApiBuilder.group(PlatformApi, "orchestrator", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* Registry
    const router = yield* Router
    const patterns = yield* Patterns

    const agentOr404 = (projectId: string, agentId: string) =>
      Effect.flatMap(registry.find(projectId, agentId), Option.match({
        onNone: () => Effect.fail(new NotFound({ message: `agent ${agentId} not found` })),
        onSome: Effect.succeed
      }))

    return handlers
      .handle("register", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          const user = yield* CurrentUser
          return yield* registry.register(payload.projectId, payload.cardUrl, user.userId)
        }))
      .handle("listAgents", ({ urlParams }) =>
        Effect.flatMap(scope(urlParams.projectId), (ids) => registry.list(ids, urlParams.kind)))
      .handle("searchAgents", ({ urlParams }) =>
        Effect.flatMap(scope(urlParams.projectId), (ids) => registry.search(ids, urlParams)))
      .handle("refreshAgent", ({ path, payload }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(payload.projectId, "developer")
          return yield* registry.refresh(yield* agentOr404(payload.projectId, path.agentId))
        }))
      .handle("unregister", ({ path, urlParams }) =>
        Effect.gen(function*() {
          yield* requireProjectRole(urlParams.projectId, "developer")
          const deleted = yield* registry.deleteRemote(urlParams.projectId, path.agentId)
          if (!deleted) return yield* new NotFound({ message: `remote agent ${path.agentId} not found` })
        }))
      .handle("sendMessage", ({ payload }) =>
        Effect.zipRight(requireProjectRole(payload.projectId, "developer"), router.submit(payload)))
      .handle("getDelivery", ({ path }) =>
        Effect.gen(function*() {
          const record = yield* router.get(path.deliveryId)
          const visible = yield* visibleProjectIds
          // Another tenant's delivery is indistinguishable from a missing one.
          if (Option.isNone(record) || !visible.includes(record.value.projectId)) {
            return yield* new NotFound({ message: `delivery ${path.deliveryId} not found` })
          }
          return record.value
        }))
      .handle("listDeadLetters", ({ urlParams }) => Effect.flatMap(scope(urlParams.projectId), router.listDeadLetters))
      .handle("delegate", ({ payload }) =>
        Effect.zipRight(requireProjectRole(payload.projectId, "developer"), patterns.delegate(payload)))
      .handle("handoff", ({ payload }) =>
        Effect.zipRight(requireProjectRole(payload.projectId, "developer"), patterns.handoff(payload)))
      .handle("fanOut", ({ payload }) =>
        Effect.zipRight(requireProjectRole(payload.projectId, "developer"), patterns.fanOut(payload)))
      .handle("supervise", ({ payload }) =>
        Effect.zipRight(requireProjectRole(payload.projectId, "developer"), patterns.supervise(payload)))
  })).pipe(Layer.provide([Registry.Default, Router.Default, Patterns.Default]))
