import { Effect, Option } from "effect"
import type { CreateAgent, UpdateAgent } from "../domain/Agent.ts"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { BadRequest, NotFound } from "../kernel/WireErrors.ts"
import { findVisibleAgent } from "./AgentAccess.ts"
import { AgentLookup } from "./AgentLookup.ts"
import { type AgentFields, AgentRepo } from "./AgentRepo.ts"
import { AGENT_TEMPLATES } from "./Templates.ts"

/** Agent writes shared by REST `/agents` and RPC `agents.*`: the same role checks and template defaults. */
export const createAgent = (payload: CreateAgent) =>
  Effect.gen(function*() {
    yield* requireProjectRole(payload.projectId, "developer")
    yield* ensureQuota("agentsPerProject", payload.projectId)
    const template = payload.templateId === undefined ? undefined : AGENT_TEMPLATES.find((t) => t.id === payload.templateId)
    if (payload.templateId !== undefined && template === undefined) {
      return yield* Effect.fail(new BadRequest({ message: `unknown template ${payload.templateId}` }))
    }
    const name = payload.name ?? template?.name
    if (name === undefined) return yield* Effect.fail(new BadRequest({ message: "name is required (or a templateId)" }))
    const user = yield* CurrentUser
    const fields: AgentFields = {
      name,
      description: payload.description ?? template?.description ?? "",
      provider: payload.provider ?? template?.provider ?? "local",
      model: payload.model ?? template?.model ?? "local",
      systemPrompt: payload.systemPrompt ?? template?.systemPrompt ?? "",
      tools: payload.tools ?? template?.tools ?? [],
      skills: payload.skills ?? template?.skills ?? [],
      config: payload.config ?? {}
    }
    const repo = yield* AgentRepo
    return yield* repo.create(payload.projectId, fields, user.kind === "user" ? user.userId : null)
  })

export const updateAgent = (id: string, payload: UpdateAgent) =>
  Effect.gen(function*() {
    const agent = yield* findVisibleAgent(id)
    yield* requireProjectRole(agent.projectId, "developer")
    const repo = yield* AgentRepo
    const updated = yield* repo.update(agent.id, {
      name: payload.name ?? agent.name,
      description: payload.description ?? agent.description,
      provider: payload.provider ?? agent.provider,
      model: payload.model ?? agent.model,
      systemPrompt: payload.systemPrompt ?? agent.systemPrompt,
      tools: payload.tools ?? agent.tools,
      skills: payload.skills ?? agent.skills,
      config: payload.config ?? agent.config
    })
    yield* (yield* AgentLookup).changed(agent.id)
    return yield* Option.match(updated, {
      onNone: () => Effect.fail(new NotFound({ message: "agent not found" })),
      onSome: Effect.succeed
    })
  })

export const deleteAgent = (id: string) =>
  Effect.gen(function*() {
    const agent = yield* findVisibleAgent(id)
    yield* requireProjectRole(agent.projectId, "developer")
    const repo = yield* AgentRepo
    yield* repo.remove(agent.id)
    yield* (yield* AgentLookup).changed(agent.id)
  })
