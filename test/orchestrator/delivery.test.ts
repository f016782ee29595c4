import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { Delivery, DELIVERY_ENTITIES, deliveryEntityId } from "../../entities/Delivery.ts"
import { DeliveryRepo } from "../../src/orchestrator/DeliveryRepo.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { type Received, type RemoteAgent, startRemoteAgent } from "./remoteAgent.ts"

let platform: TestPlatform
let alice: SignedUp
const agents: Array<RemoteAgent> = []
const ids: Record<string, string> = {}

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...alice.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() }
}

const register = async (agent: RemoteAgent, name: string) => {
  const { status, body } = await call("POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: agent.cardUrl })
  if (status !== 201) throw new Error(`register ${name}: ${status}`)
  ids[name] = body.id
  agents.push(agent)
  return agent
}

/** What an agent does when it delegates: calls the orchestrator with the metadata it received. */
const delegateFrom = (from: string, to: string, message: Received, text: string) =>
  call("POST", "/orchestrator/delegate", { projectId: alice.projectId, from: ids[from], to: ids[to], text, metadata: message.metadata })

let echo: RemoteAgent
let researcher: RemoteAgent
let writer: RemoteAgent
let pingA: RemoteAgent
let pingB: RemoteAgent
const loopStatuses: Array<number> = []

beforeAll(async () => {
  // Remote agents under test listen on loopback: the operator allow-list admits it.
  platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
  alice = await signUp(platform.baseUrl)
  echo = await register(await startRemoteAgent({ name: "Echo" }), "echo")
  await register(await startRemoteAgent({ name: "Upper", reply: (m) => m.text.toUpperCase() }), "upper")
  await register(await startRemoteAgent({ name: "Exclaim", reply: (m) => `${m.text}!` }), "exclaim")
  // Two agents delegating through the orchestrator: the researcher asks the writer.
  writer = await register(await startRemoteAgent({ name: "Writer", reply: (m) => `draft about ${m.text}` }), "writer")
  researcher = await register(
    await startRemoteAgent({
      name: "Researcher",
      reply: async (m) => {
        const { status, body } = await delegateFrom("researcher", "writer", m, m.text)
        return status === 200 ? `researched; writer said: ${body.reply}` : `delegation failed: ${status}`
      }
    }),
    "researcher"
  )
  // A cycle: A asks B, B asks A back.
  const pingPong = (self: string, peer: string) => async (m: Received) => {
    const { status, body } = await delegateFrom(self, peer, m, `${self} -> ${m.text}`)
    loopStatuses.push(status)
    return status === 200 ? body.reply : `${self} stopped: ${body._tag}`
  }
  pingA = await register(await startRemoteAgent({ name: "PingA", reply: pingPong("pingA", "pingB") }), "pingA")
  pingB = await register(await startRemoteAgent({ name: "PingB", reply: pingPong("pingB", "pingA") }), "pingB")
  // Supervisor: delegates once to Upper, then answers with what it got back.
  await register(
    await startRemoteAgent({
      name: "Supervisor",
      reply: (m) => {
        const last = /-> (.*)$/.exec(m.text.split("Reply with")[0].trim())
        return last ? `FINAL: ${last[1]}` : `DELEGATE ${ids.upper}: shout the task`
      }
    }),
    "supervisor"
  )
  await register(await startRemoteAgent({ name: "Indecisive", reply: () => `DELEGATE ${ids.echo}: again` }), "indecisive")
}, 90_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()))
  await platform?.stop()
}, 30_000)

describe("reliable delivery", () => {
  test("a message is delivered to a remote A2A agent and its reply returned", async () => {
    const { status, body } = await call("POST", "/orchestrator/message", {
      projectId: alice.projectId,
      to: ids.echo,
      text: "hello",
      idempotencyKey: "greeting-1"
    })
    expect(status).toBe(200)
    expect(body).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "Echo: hello" } })
    // The delivery id travels as the A2A messageId: the receiver can deduplicate on it.
    expect(echo.received.at(-1)?.messageId).toBe(body.deliveryId)
    // The send carries its span's trace context: the agent's own spans join the delivery's trace.
    expect(echo.traceparents.at(-1)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
  })

  test("a fresh delivery ends in the transaction that stores its Deliver reply", async () => {
    const { status, body } = await call("POST", "/orchestrator/message", { projectId: alice.projectId, to: ids.upper, text: "commit" })
    expect(status).toBe(200)
    expect(body).toMatchObject({ status: "delivered", attempts: 1, lastError: null, reply: { text: "COMMIT" } })
    const [row] = await platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ delivery: string; reply: string; status: string; attempts: number; text: string }>`
        SELECT d.xmin::text AS delivery, r.xmin::text AS reply, d.status, d.attempts, d.reply ->> 'text' AS text
        FROM orchestrator_deliveries d
        JOIN cluster_messages m ON m.entity_type = 'Delivery' AND m.entity_id = ${deliveryEntityId(body.deliveryId)}
          AND m.tag = 'Deliver' AND m.message_id = 'Delivery/' || m.entity_id || '/Deliver/' || d.id
        JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
        WHERE d.id = ${body.deliveryId}`))
    expect(row).toMatchObject({ status: "delivered", attempts: 1, text: "COMMIT" })
    expect(row.delivery).toBe(row.reply)
  })

  test("the same idempotency key is the same message: delivered once, answered from the record", async () => {
    const before = echo.received.length
    const again = await call("POST", "/orchestrator/message", {
      projectId: alice.projectId,
      to: ids.echo,
      text: "hello",
      idempotencyKey: "greeting-1"
    })
    expect(again.body).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "Echo: hello" } })
    expect(echo.received.length).toBe(before)
    const conflict = await call("POST", "/orchestrator/message", {
      projectId: alice.projectId,
      to: ids.echo,
      text: "something else",
      idempotencyKey: "greeting-1"
    })
    expect(conflict.status).toBe(409)
  })

  test("async mode answers before delivery; the record shows it delivered", async () => {
    const { body } = await call("POST", "/orchestrator/message", {
      projectId: alice.projectId,
      to: ids.upper,
      text: "later",
      mode: "async"
    })
    expect(["pending", "delivered"]).toContain(body.status)
    await waitFor(async () => (await call("GET", `/orchestrator/deliveries/${body.deliveryId}`)).body.status === "delivered", 10_000)
    expect((await call("GET", `/orchestrator/deliveries/${body.deliveryId}`)).body.reply.text).toBe("LATER")
  })

  test("an unreachable agent is retried with backoff, then dead-lettered with the reason", async () => {
    const doomed = await startRemoteAgent({ name: "Doomed" })
    await register(doomed, "doomed")
    await doomed.close()
    const started = performance.now()
    const { body } = await call("POST", "/orchestrator/message", {
      projectId: alice.projectId,
      to: ids.doomed,
      text: "anyone there?",
      maxAttempts: 3
    })
    const elapsed = performance.now() - started
    expect(body).toMatchObject({ status: "dead_lettered", attempts: 3, reply: null })
    expect(body.lastError).toContain("gave up after 3 attempts")
    // Backoff 200 ms then 400 ms (jittered) between the three attempts.
    expect(elapsed).toBeGreaterThan(300)
    const dead = (await call("GET", `/orchestrator/dead-letters?projectId=${alice.projectId}`)).body
    const letter = dead.find((d: { deliveryId: string }) => d.deliveryId === body.deliveryId)
    expect(letter).toMatchObject({ to: ids.doomed, attempts: 3, request: { text: "anyone there?" } })
    expect(letter.reason).toContain("unreachable")
  })

  test("a caller that hangs up does not cancel its delivery", async () => {
    const slowpoke = await register(await startRemoteAgent({
      name: "Slowpoke",
      reply: async (m) => {
        await Bun.sleep(800)
        return `slow ${m.text}`
      }
    }), "slowpoke")
    const body = JSON.stringify({ projectId: alice.projectId, to: ids.slowpoke, text: "x", idempotencyKey: "hang-up-1" })
    const aborted = await fetch(`${platform.baseUrl}/orchestrator/message`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(200)
    }).then(() => false, () => true)
    expect(aborted).toBe(true)
    // Asking again with the same key answers from the same delivery, which went through once.
    const again = await call("POST", "/orchestrator/message", JSON.parse(body))
    expect(again.body).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "slow x" } })
    expect(slowpoke.received).toHaveLength(1)
  })

  test("deliveries share a fixed set of entities, each delivery always the same one", () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => `dlv_${i.toString(16).padStart(32, "0")}`)
    const entities = new Set(ids.map(deliveryEntityId))
    expect([...entities].every((e) => /^deliveries-\d+$/.test(e) && Number(e.slice("deliveries-".length)) < DELIVERY_ENTITIES)).toBe(true)
    // Spread over all of them (and so over shards and runners), and the same id the same entity.
    expect(entities.size).toBe(DELIVERY_ENTITIES)
    expect(ids.map(deliveryEntityId)).toEqual(ids.map(deliveryEntityId))
  })

  test("a delivery that dies runs again alone: another in flight on its entity is neither interrupted nor sent twice", async () => {
    const sleepy = await register(await startRemoteAgent({
      name: "Sleepy",
      reply: async (m) => {
        await Bun.sleep(1_500)
        return `slept on ${m.text}`
      }
    }), "sleepy")
    const { body: inFlight } = await call("POST", "/orchestrator/message", { projectId: alice.projectId, to: ids.sleepy, text: "it", mode: "async" })
    await waitFor(async () => sleepy.received.length === 1, 10_000)
    // A Deliver whose delivery has no record dies in the handler; sent to the entity running the other.
    const unknown = `dlv_unknown_${crypto.randomUUID()}`
    await platform.runtime.runPromise(Effect.flatMap(Delivery.client, (deliveries) =>
      deliveries(deliveryEntityId(inFlight.deliveryId)).Deliver({ deliveryId: unknown }, { discard: true })))
    await waitFor(async () => (await call("GET", `/orchestrator/deliveries/${inFlight.deliveryId}`)).body.status === "delivered", 10_000)
    const done = (await call("GET", `/orchestrator/deliveries/${inFlight.deliveryId}`)).body
    expect(done).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "slept on it" } })
    expect(sleepy.received.map((m) => m.messageId)).toEqual([inFlight.deliveryId])
    // Its record written now, the one that died is delivered on its next run.
    await platform.runtime.runPromise(Effect.flatMap(DeliveryRepo, (repo) =>
      repo.create({
        id: unknown,
        projectId: alice.projectId,
        idempotencyKey: unknown,
        from: null,
        to: ids.echo!,
        request: { text: "late record", metadata: {} },
        maxAttempts: 3
      })).pipe(Effect.provide(DeliveryRepo.Default)))
    await waitFor(async () => (await call("GET", `/orchestrator/deliveries/${unknown}`)).body.status === "delivered", 20_000)
    expect(echo.received.at(-1)).toMatchObject({ messageId: unknown, text: "late record" })
  }, 40_000)

  /** A delivery stored as the router stores one, then handed to the entity with the given payload. */
  const deliverStored = (id: string, to: string, payload: { deliveryId: string; projectId?: string; to?: string }) =>
    platform.runtime.runPromise(Effect.gen(function*() {
      const repo = yield* DeliveryRepo
      yield* repo.create({
        id,
        projectId: alice.projectId,
        idempotencyKey: id,
        from: null,
        to,
        request: { text: "stored", metadata: {} },
        maxAttempts: 3
      })
      const deliveries = yield* Delivery.client
      return yield* deliveries(id).Deliver(payload)
    }).pipe(Effect.provide(DeliveryRepo.Default)))

  test("a message persisted without its target (before payloads named it) is delivered from the stored record", async () => {
    const id = `dlv_legacy_${crypto.randomUUID()}`
    const record = await deliverStored(id, ids.echo, { deliveryId: id })
    expect(record).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "Echo: stored" } })
    expect(echo.received.at(-1)?.messageId).toBe(id)
  })

  test("a target gone by delivery time dead-letters the message without counting an attempt", async () => {
    const id = `dlv_gone_${crypto.randomUUID()}`
    const record = await deliverStored(id, "ra_unregistered", { deliveryId: id, projectId: alice.projectId, to: "ra_unregistered" })
    expect(record).toMatchObject({ status: "dead_lettered", attempts: 0, reply: null })
    expect(record.lastError).toContain("is not registered")
  })

  test("a message naming another target than its record goes to the record's target", async () => {
    const id = `dlv_mismatch_${crypto.randomUUID()}`
    const before = echo.received.length
    const record = await deliverStored(id, ids.upper, { deliveryId: id, projectId: alice.projectId, to: ids.echo })
    expect(record).toMatchObject({ status: "delivered", attempts: 1, reply: { text: "STORED" } })
    expect(echo.received.length).toBe(before)
  })

  test("an unknown target → 404, nothing stored", async () => {
    const { status } = await call("POST", "/orchestrator/message", { projectId: alice.projectId, to: "nope", text: "x" })
    expect(status).toBe(404)
  })
})

describe("multi-agent patterns", () => {
  test("delegate: two agents delegating through the orchestrator, hop count in metadata", async () => {
    const { body } = await call("POST", "/orchestrator/message", { projectId: alice.projectId, to: ids.researcher, text: "otters" })
    expect(body.reply.text).toBe("researched; writer said: draft about otters")
    const atWriter = writer.received.at(-1)!
    expect(atWriter.metadata.orchestrator).toEqual({ hops: 1, visited: [ids.researcher, ids.writer] })
    expect(researcher.received).toHaveLength(1)
  })

  test("a delegation cycle is refused with an error, not a hang", async () => {
    const started = performance.now()
    const { body } = await call("POST", "/orchestrator/message", { projectId: alice.projectId, to: ids.pingA, text: "ball" })
    // A → B succeeded (200), B → A was refused (409): the chain unwinds with the error.
    expect(loopStatuses).toEqual([409, 200])
    expect(body.reply.text).toBe("pingB stopped: DelegationLoop")
    expect(pingA.received).toHaveLength(1)
    expect(pingB.received).toHaveLength(1)
    expect(performance.now() - started).toBeLessThan(10_000)
  })

  test("sequential handoff feeds each output to the next agent", async () => {
    const { status, body } = await call("POST", "/orchestrator/handoff", {
      projectId: alice.projectId,
      agents: [ids.upper, ids.exclaim],
      text: "hand me off"
    })
    expect(status).toBe(200)
    expect(body.output).toBe("HAND ME OFF!")
    expect(body.steps.map((s: { output: string }) => s.output)).toEqual(["HAND ME OFF", "HAND ME OFF!"])
  })

  test("fan-out/fan-in: concat merge and an agent merge step", async () => {
    const concat = (await call("POST", "/orchestrator/fanout", {
      projectId: alice.projectId,
      agents: [ids.upper, ids.exclaim, ids.echo],
      text: "fan",
      merge: { strategy: "concat", separator: " | " }
    })).body
    expect(concat.merged).toBe("FAN | fan! | Echo: fan")
    const merged = (await call("POST", "/orchestrator/fanout", {
      projectId: alice.projectId,
      agents: [ids.upper, ids.exclaim],
      text: "fan",
      merge: { strategy: "agent", agent: ids.echo }
    })).body
    expect(merged.mergeStep.agent).toBe(ids.echo)
    expect(merged.merged).toContain("FAN")
    expect(merged.merged).toContain("fan!")
  })

  test("supervisor loop delegates to a worker and finishes; a step bound stops one that never does", async () => {
    const ok = await call("POST", "/orchestrator/supervise", {
      projectId: alice.projectId,
      supervisor: ids.supervisor,
      workers: [ids.upper],
      text: "make it loud",
      maxSteps: 4
    })
    expect(ok.status).toBe(200)
    expect(ok.body.output).toBe("SHOUT THE TASK")
    expect(ok.body.steps).toHaveLength(3)
    const bounded = await call("POST", "/orchestrator/supervise", {
      projectId: alice.projectId,
      supervisor: ids.indecisive,
      workers: [ids.echo],
      text: "never ends",
      maxSteps: 3
    })
    expect(bounded.status).toBe(422)
    expect(bounded.body._tag).toBe("StepLimitExceeded")
    // Three supervisor turns, each followed by its worker step.
    expect(bounded.body.steps).toHaveLength(6)
  })

  test("every hop is recorded as an A2A flow for Observability", async () => {
    const { status, body } = await call("GET", `/observability/a2a?projectId=${alice.projectId}`)
    expect(status).toBe(200)
    const edge = (from: string, to: string) =>
      body.edges.find((e: { from: string; to: string }) => e.from === from && e.to === to)
    // The researcher's delegation to the writer, as an A2A SendMessage hop.
    expect(edge(ids.researcher, ids.writer)).toMatchObject({ count: 1, errorCount: 0, methods: ["SendMessage"] })
    // The three failed attempts against the unreachable agent.
    expect(edge("orchestrator", ids.doomed)).toMatchObject({ count: 3, errorCount: 3 })
  })
})
