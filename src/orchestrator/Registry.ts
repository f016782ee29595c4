import { Config, Effect, Either, Option, Schedule } from "effect"
import { cosineSimilarity, Embeddings } from "../embeddings/Embeddings.ts"
import { EventBus } from "../events/EventBus.ts"
import { A2AClient } from "./A2AClient.ts"
import { resolveCard } from "../domain/AgentCard.ts"
import { AgentCardUnreachable, InvalidAgentCard, type RegistryEntry } from "../domain/Orchestration.ts"
import { RegistryRepo } from "./RegistryRepo.ts"
import { EGRESS_REFUSED, EgressPolicy } from "../net/EgressPolicy.ts"
import * as Values from "../config/Values.ts"

export const OrchestratorConfig = Config.all({
  cardTimeout: Config.duration("ORCHESTRATOR_CARD_TIMEOUT").pipe(Config.withDefault("5 seconds")),
  cardRefresh: Config.duration("ORCHESTRATOR_CARD_REFRESH").pipe(Config.withDefault("5 minutes")),
  /** Cosine similarity below which a semantic match is not reported. */
  semanticThreshold: Values.ratio("ORCHESTRATOR_SEMANTIC_THRESHOLD").pipe(Config.withDefault(0.3)),
  /** A search answers by name/tag rather than wait longer than this for embeddings (e.g. a model still loading). */
  semanticTimeout: Config.duration("ORCHESTRATOR_SEMANTIC_TIMEOUT").pipe(Config.withDefault("5 seconds"))
})

export interface SearchParams {
  readonly q?: string | undefined
  readonly tag?: string | undefined
  readonly skill?: string | undefined
  readonly limit?: number | undefined
}

interface Match {
  readonly agent: RegistryEntry
  readonly skillId: string | null
  readonly score: number
  readonly matchedBy: "name" | "tag" | "semantic"
}

const lower = (s: string) => s.toLowerCase()

/**
 * The agent registry: remote A2A agents registered by card URL (fetched,
 * validated, refreshed periodically) plus every platform agent, and skill
 * search over both (name/tag always; semantic when an Embeddings service is
 * configured and answering — `semantic: false` in a result says it was not applied, never approximated).
 */
export class Registry extends Effect.Service<Registry>()("Orchestrator/Registry", {
  scoped: Effect.gen(function*() {
    const repo = yield* RegistryRepo
    const a2a = yield* A2AClient
    const egress = yield* EgressPolicy
    const bus = yield* EventBus
    const config = yield* OrchestratorConfig.pipe(Effect.orDie)
    const embeddings = yield* Effect.serviceOption(Embeddings)
    // Skill texts embedded once per process (cards change rarely).
    const vectors = new Map<string, Float32Array>()

    const announce = (entry: RegistryEntry, type: string) =>
      bus.publish({
        topic: `orchestrator/agents/${entry.id}`,
        type,
        projectId: entry.projectId,
        data: { id: entry.id, name: entry.name, kind: entry.kind, status: entry.status, lastError: entry.lastError }
      })

    /** Fetches (for `projectId`) and validates a card; nothing is written unless both succeed. */
    const fetchCard = (cardUrl: string, projectId: string) =>
      Effect.gen(function*() {
        const url = yield* Effect.try({
          try: () => new URL(cardUrl),
          catch: () => new InvalidAgentCard({ message: "cardUrl is not an absolute URL", issues: [] })
        })
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          return yield* new InvalidAgentCard({ message: "cardUrl must be http(s)", issues: [] })
        }
        const raw = yield* a2a.fetchJson(url.toString(), config.cardTimeout, projectId).pipe(
          Effect.mapError((reason) =>
            new AgentCardUnreachable({ message: `agent card could not be fetched: ${reason}`, cardUrl })
          )
        )
        const resolved = resolveCard(raw)
        if (Either.isLeft(resolved)) {
          return yield* new InvalidAgentCard({
            message: "the document is not a valid A2A agent card",
            issues: resolved.left.slice(0, 20)
          })
        }
        // The endpoint is where deliveries go: a public card must not point them at an internal address.
        yield* egress.check(resolved.right.endpointUrl).pipe(
          Effect.mapError(() => new AgentCardUnreachable({ message: `agent card endpoint: ${EGRESS_REFUSED}`, cardUrl }))
        )
        return { card: resolved.right, raw }
      })

    const register = Effect.fn("Registry.register")(function*(projectId: string, cardUrl: string, userId: string) {
      const { card, raw } = yield* fetchCard(cardUrl, projectId)
      const entry = yield* repo.upsertRemote(projectId, cardUrl, card, raw, userId)
      yield* announce(entry, "agent.registered")
      return entry
    })

    const refresh = Effect.fn("Registry.refresh")(function*(entry: RegistryEntry) {
      if (entry.kind !== "remote" || entry.cardUrl === null) return entry
      const fetched = yield* Effect.either(fetchCard(entry.cardUrl, entry.projectId))
      if (Either.isRight(fetched)) {
        yield* repo.markRefreshed(entry.id, fetched.right.card, fetched.right.raw)
      } else {
        // The last good card stays: routing keeps trying, but the status says why it may fail.
        yield* repo.markUnreachable(entry.id, fetched.left.message)
      }
      const updated = yield* repo.find(entry.projectId, entry.id)
      if (Option.isSome(updated) && updated.value.status !== entry.status) {
        yield* announce(updated.value, "agent.status")
      }
      return Option.getOrElse(updated, () => entry)
    })

    const list = (projectIds: ReadonlyArray<string>, kind?: "local" | "remote") =>
      Effect.gen(function*() {
        const local = kind === "remote" ? [] : yield* repo.listLocal(projectIds)
        const remote = kind === "local" ? [] : yield* repo.listRemote(projectIds)
        return [...local, ...remote]
      })

    /** None: no Embeddings service, or it failed / did not answer in time (search degrades to name/tag). */
    const semanticMatches = (agents: ReadonlyArray<RegistryEntry>, q: string) =>
      Option.match(embeddings, {
        onNone: () => Effect.succeed(Option.none<Array<Match>>()),
        onSome: (e) =>
          Effect.gen(function*() {
            const skills = agents.flatMap((agent) =>
              agent.skills.map((skill) => ({
                agent,
                skill,
                text: `${skill.name}. ${skill.description} ${skill.tags.join(", ")}`.trim()
              }))
            )
            const missing = [...new Set(skills.map((s) => s.text).filter((t) => !vectors.has(t)))]
            const [queryVector, ...fresh] = yield* e.embed([q, ...missing])
            missing.forEach((t, i) => vectors.set(t, fresh[i]))
            return skills.flatMap((s): Array<Match> => {
              const score = cosineSimilarity(queryVector, vectors.get(s.text)!)
              return score >= config.semanticThreshold
                ? [{ agent: s.agent, skillId: s.skill.id, score, matchedBy: "semantic" }]
                : []
            })
          }).pipe(
            Effect.timeoutFail({ duration: config.semanticTimeout, onTimeout: () => "embeddings did not answer in time" }),
            Effect.map(Option.some),
            Effect.catchAll((error) =>
              Effect.logWarning("semantic skill search unavailable", error).pipe(Effect.as(Option.none()))
            )
          )
      })

    const search = Effect.fn("Registry.search")(function*(projectIds: ReadonlyArray<string>, params: SearchParams) {
      const agents = yield* list(projectIds)
      const matches: Array<Match> = []
      const tag = params.tag !== undefined ? lower(params.tag) : undefined
      const skillName = params.skill !== undefined ? lower(params.skill) : undefined
      const q = params.q !== undefined && params.q.trim().length > 0 ? lower(params.q.trim()) : undefined
      for (const agent of agents) {
        for (const skill of agent.skills) {
          if (tag !== undefined && skill.tags.some((t) => lower(t) === tag)) {
            matches.push({ agent, skillId: skill.id, score: 1, matchedBy: "tag" })
          }
          if (skillName !== undefined && (lower(skill.id) === skillName || lower(skill.name).includes(skillName))) {
            matches.push({ agent, skillId: skill.id, score: lower(skill.id) === skillName ? 1 : 0.9, matchedBy: "name" })
          }
          if (q !== undefined && (lower(skill.name).includes(q) || lower(skill.description).includes(q))) {
            matches.push({ agent, skillId: skill.id, score: 0.9, matchedBy: "name" })
          }
        }
        if (q !== undefined && (lower(agent.name).includes(q) || lower(agent.description).includes(q))) {
          matches.push({ agent, skillId: null, score: 0.8, matchedBy: "name" })
        }
      }
      const semantic = params.q !== undefined && params.q.trim().length > 0
        ? yield* semanticMatches(agents, params.q.trim())
        : Option.none<Array<Match>>()
      if (Option.isSome(semantic)) matches.push(...semantic.value)
      // One result per (agent, skill): the best way it matched.
      const best = new Map<string, Match>()
      for (const m of matches) {
        const key = `${m.agent.id}\u0000${m.skillId ?? ""}`
        const seen = best.get(key)
        if (seen === undefined || seen.score < m.score) best.set(key, m)
      }
      const sorted = [...best.values()].sort((a, b) => b.score - a.score).slice(0, params.limit ?? 20)
      return { semantic: Option.isSome(semantic), matches: sorted }
    })

    const find = (projectId: string, id: string) => repo.find(projectId, id)

    // Periodic card refresh: a remote agent that went away is marked unreachable (and back).
    yield* repo.allRemote.pipe(
      Effect.flatMap(Effect.forEach(refresh, { concurrency: 4, discard: true })),
      Effect.catchAllCause((cause) => Effect.logWarning("agent card refresh failed", cause)),
      Effect.repeat(Schedule.spaced(config.cardRefresh)),
      Effect.delay(config.cardRefresh),
      Effect.forkScoped
    )

    return { register, refresh, list, search, find, deleteRemote: repo.deleteRemote } as const
  }),
  dependencies: [RegistryRepo.Default, A2AClient.Default]
}) {}
