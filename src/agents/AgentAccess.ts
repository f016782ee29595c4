import { Effect, Option } from "effect"
import { visibleProjectIds } from "../auth/ProjectAccess.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import { AgentRepo } from "./AgentRepo.ts"

/** The caller's view of an agent: NotFound unless the caller is a member of its project (REST and RPC alike). */
export const findVisibleAgent = (id: string) =>
  Effect.gen(function*() {
    const repo = yield* AgentRepo
    const projects = yield* visibleProjectIds
    const agent = yield* repo.find(id, projects)
    if (Option.isNone(agent)) return yield* Effect.fail(new NotFound({ message: "agent not found" }))
    return agent.value
  })
