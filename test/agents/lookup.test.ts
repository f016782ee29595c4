import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Context, Deferred, Effect, Fiber, Layer, Option } from "effect"
import { AgentLookup } from "../../src/agents/AgentLookup.ts"
import { AgentRepo } from "../../src/agents/AgentRepo.ts"
import { waitFor } from "../support/process.ts"
import { makeAgentsRuntime } from "./support.ts"

let env: Awaited<ReturnType<typeof makeAgentsRuntime>>

beforeAll(async () => {
  env = await makeAgentsRuntime()
}, 240_000)
afterAll(() => env.dispose())

const fields = {
  name: "Cached",
  description: "",
  provider: "local" as const,
  model: "local",
  systemPrompt: "",
  tools: [],
  skills: [],
  config: {}
}

describe("AgentLookup (the A2A edge's agent reads)", () => {
  test("reuses an agent it read, checks the caller's projects on every call, and drops it when any node says it changed", async () => {
    await env.rt.runPromise(Effect.scoped(Effect.gen(function*() {
      const repo = yield* AgentRepo
      // Two nodes' lookups: their own caches, one event bus.
      const node = () => Effect.map(Layer.build(Layer.fresh(AgentLookup.Default)), Context.get(AgentLookup))
      const here = yield* node()
      const there = yield* node()
      const agent = yield* repo.create(env.projectId, fields, "u1")

      expect(Option.getOrThrow(yield* here.find(agent.id, [env.projectId])).name).toBe("Cached")
      expect(Option.isNone(yield* here.find(agent.id, ["another-project"]))).toBe(true)
      expect(Option.isNone(yield* here.find(agent.id, []))).toBe(true)

      // Deleted behind its back (no `changed`): the read copy is still what it answers.
      yield* repo.remove(agent.id)
      expect(Option.isSome(yield* here.find(agent.id, [env.projectId]))).toBe(true)
      // Another node reports the change: this node's copy goes.
      yield* there.changed(agent.id)
      yield* Effect.promise(() => waitFor(() => env.rt.runPromise(Effect.map(here.find(agent.id, [env.projectId]), Option.isNone)), 5_000))

      // An id that named no agent is not remembered as missing: once the row exists it is found.
      const id = `agt_${crypto.randomUUID()}`
      expect(Option.isNone(yield* here.find(id, [env.projectId]))).toBe(true)
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO agents (id, project_id, name, slug, description, provider, model, system_prompt, tools, skills, config)
        VALUES (${id}, ${env.projectId}, 'Late', ${id}, '', 'local', 'local', '', '[]'::jsonb, '[]'::jsonb, '{}'::jsonb)`
      expect(Option.getOrThrow(yield* here.find(id, [env.projectId])).name).toBe("Late")
    })))
  })

  test("the node that changes an agent answers from the new row at once", async () => {
    await env.rt.runPromise(Effect.scoped(Effect.gen(function*() {
      const repo = yield* AgentRepo
      const lookup = Context.get(yield* Layer.build(Layer.fresh(AgentLookup.Default)), AgentLookup)
      const agent = yield* repo.create(env.projectId, fields, "u1")
      yield* lookup.find(agent.id, [env.projectId])
      yield* repo.update(agent.id, { ...fields, name: "Renamed" })
      yield* lookup.changed(agent.id)
      // No waiting: `changed` evicts this node's copy before it returns.
      expect(Option.getOrThrow(yield* lookup.find(agent.id, [env.projectId])).name).toBe("Renamed")
    })))
  })

  test("a read that was in flight when the agent changed is answered but not kept", async () => {
    await env.rt.runPromise(Effect.scoped(Effect.gen(function*() {
      const repo = yield* AgentRepo
      const agent = yield* repo.create(env.projectId, fields, "u1")
      // The database answers the read at once; the answer reaches the lookup only when the gate opens.
      const read = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const gated = AgentRepo.make({
        ...repo,
        findInternal: (id) => Effect.tap(repo.findInternal(id), () => Effect.zipRight(Deferred.succeed(read, undefined), Deferred.await(gate)))
      })
      const lookup = Context.get(
        yield* Layer.build(AgentLookup.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeed(AgentRepo, gated)))),
        AgentLookup
      )
      const inFlight = yield* Effect.fork(lookup.find(agent.id, [env.projectId]))
      yield* Deferred.await(read)
      yield* repo.update(agent.id, { ...fields, name: "Renamed meanwhile" })
      yield* lookup.changed(agent.id)
      yield* Deferred.succeed(gate, undefined)
      expect(Option.getOrThrow(yield* Fiber.join(inFlight)).name).toBe("Cached")
      expect(Option.getOrThrow(yield* lookup.find(agent.id, [env.projectId])).name).toBe("Renamed meanwhile")
    })))
  })
})
