import { Effect, Option, Stream } from "effect"
import type { Agent } from "../domain/Agent.ts"
import { EventBus } from "../events/EventBus.ts"
import { INTERNAL_PROJECT } from "../auth/Invalidation.ts"
import { AgentRepo } from "./AgentRepo.ts"

/** How long a read agent is reused. The bus evicts a changed one at once; this bounds what a lost event costs. */
export const AGENT_CACHE_TTL_MS = 5_000
const CACHE_LIMIT = 20_000
const TOPIC = "internal/agent-cache/"

interface Entry {
  readonly agent: Agent
  readonly expires: number
}

/**
 * The agent an A2A request names, read once per `AGENT_CACHE_TTL_MS` instead of
 * once per request (issue #19: one of the five statements of every SendMessage).
 * Access is checked on every call against the caller's projects (an agent's
 * project never changes); only agents that exist are kept, so unknown ids always
 * reach the database. Updates and deletes go through `changed`, which evicts here
 * at once and on every other node over the EventBus (Redis pub/sub when
 * REDIS_URL is set). The run reads the agent again in its own statement, so a
 * model, prompt or tool change always applies to the next run.
 */
export class AgentLookup extends Effect.Service<AgentLookup>()("Agents/AgentLookup", {
  scoped: Effect.gen(function*() {
    const repo = yield* AgentRepo
    const bus = yield* EventBus
    const cache = new Map<string, Entry>()
    // Evictions so far. A read that began before an eviction may have read the old row: it is
    // answered but not kept (else it would put back what the eviction removed, for the TTL).
    let evictions = 0
    const evict = (id: string) => {
      cache.delete(id)
      evictions++
    }

    yield* bus.subscribe(TOPIC).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          const id = (event.data as { readonly agentId?: unknown } | null)?.agentId
          if (typeof id === "string") evict(id)
        })
      ),
      Effect.forkScoped
    )

    const visibleTo = (agent: Agent, projectIds: ReadonlyArray<string>) =>
      projectIds.includes(agent.projectId) ? Option.some(agent) : Option.none<Agent>()

    /** The agent if it exists in one of `projectIds` (as `AgentRepo.find`). */
    const find = (id: string, projectIds: ReadonlyArray<string>): Effect.Effect<Option.Option<Agent>> =>
      Effect.suspend(() => {
        if (projectIds.length === 0) return Effect.succeed(Option.none<Agent>())
        const hit = cache.get(id)
        if (hit !== undefined && hit.expires > Date.now()) return Effect.succeed(visibleTo(hit.agent, projectIds))
        const evictionsBefore = evictions
        return Effect.map(repo.findInternal(id), (found) => {
          if (Option.isNone(found)) return found
          if (evictions === evictionsBefore) {
            if (cache.size >= CACHE_LIMIT) cache.clear()
            cache.set(id, { agent: found.value, expires: Date.now() + AGENT_CACHE_TTL_MS })
          }
          return visibleTo(found.value, projectIds)
        })
      })

    /** After an agent was updated or deleted: no node answers from its old copy. */
    const changed = (agentId: string) =>
      Effect.suspend(() => {
        evict(agentId)
        return bus.publish({ topic: `${TOPIC}${agentId}`, type: "invalidate", projectId: INTERNAL_PROJECT, data: { agentId } })
      })

    return { find, changed } as const
  }),
  dependencies: [AgentRepo.Default]
}) {}
