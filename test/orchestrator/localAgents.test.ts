import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

let platform: TestPlatform
let alice: SignedUp
const ids = { planner: "", writer: "" }

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...alice.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() }
}

/** Platform agents on the offline `local` provider, written straight into the agents table. */
const createAgent = (name: string, skills: Array<{ id: string; name: string; description: string; tags: Array<string> }>) =>
  platform.runtime.runPromise(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const id = `agent-${crypto.randomUUID()}`
      yield* sql`INSERT INTO agents (id, project_id, name, description, provider, model, system_prompt, skills, created_by)
        VALUES (${id}, ${alice.projectId}, ${name}, ${`${name} (local)`}, 'local', 'local', 'Be brief.',
          ${JSON.stringify(skills.map((s) => ({ ...s, examples: [] })))}::jsonb, ${alice.userId})`
      return id
    })
  )

const tasksOf = (agentId: string) =>
  platform.runtime.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ id: string; state: string; metadata: Record<string, unknown> }>`
        SELECT id, state, metadata FROM agent_tasks WHERE agent_id = ${agentId}`)
  )

beforeAll(async () => {
  platform = await startPlatform()
  alice = await signUp(platform.baseUrl)
  ids.planner = await createAgent("Planner", [{ id: "plan", name: "Plan work", description: "Break a goal into steps", tags: ["planning"] }])
  ids.writer = await createAgent("Writer", [{ id: "write", name: "Write prose", description: "Write a paragraph", tags: ["writing"] }])
}, 90_000)

afterAll(() => platform?.stop(), 30_000)

describe("platform agents in the orchestrator", () => {
  test("local agents are registered automatically, with their skills", async () => {
    const { body } = await call("GET", `/orchestrator/agents?projectId=${alice.projectId}&kind=local`)
    const byId = new Map(body.map((a: { id: string }) => [a.id, a]))
    expect(byId.get(ids.planner)).toMatchObject({ kind: "local", name: "Planner", skills: [{ id: "plan", tags: ["planning"] }] })
    const search = (await call("GET", "/orchestrator/agents/search?tag=writing")).body
    expect(search.matches.map((m: { agent: { id: string } }) => m.agent.id)).toEqual([ids.writer])
  })

  test("two agents delegating through the orchestrator: the Agent entity runs the task once", { timeout: 60_000 }, async () => {
    // A live subscriber sees the writer's task progress and the delivery as they happen.
    const frames: Array<{ type: string; topic: string; data: { status?: { state: string } } }> = []
    const ws = new WebSocket(`${platform.wsUrl}/ws/events?topics=agents/,orchestrator/deliveries/&access_token=${alice.token}`)
    await new Promise<void>((resolve) => {
      ws.onmessage = (m) => {
        const frame = JSON.parse(String(m.data))
        if (frame.type === "subscribed") resolve()
        else frames.push(frame)
      }
    })
    const { status, body } = await call("POST", "/orchestrator/delegate", {
      projectId: alice.projectId,
      from: ids.planner,
      to: ids.writer,
      text: "Write one sentence about otters."
    })
    expect(status).toBe(200)
    expect(body.hops).toBe(1)
    // The offline provider says plainly that it is the local fallback.
    expect(body.reply.toLowerCase()).toContain("local")
    const tasks = await tasksOf(ids.writer)
    expect(tasks).toHaveLength(1)
    expect(tasks[0].state).toBe("completed")
    expect(tasks[0].metadata).toMatchObject({
      orchestratorDeliveryId: body.deliveryId,
      orchestrator: { hops: 1, visited: [ids.planner, ids.writer] }
    })
    await waitFor(() => frames.some((f) => f.type === "delivery.delivered"), 5_000)
    const taskEvents = frames.filter((f) => f.topic === `agents/${ids.writer}/tasks/${tasks[0].id}`)
    expect(taskEvents.map((f) => f.data.status?.state).filter(Boolean)).toContain("completed")
    ws.close()
    // Delegating back to the planner within the same chain is a cycle.
    const back = await call("POST", "/orchestrator/delegate", {
      projectId: alice.projectId,
      from: ids.writer,
      to: ids.planner,
      text: "and back",
      metadata: tasks[0].metadata
    })
    expect(back.status).toBe(409)
    expect(back.body._tag).toBe("DelegationLoop")
  })

  test("handoff between two platform agents", { timeout: 60_000 }, async () => {
    const { status, body } = await call("POST", "/orchestrator/handoff", {
      projectId: alice.projectId,
      agents: [ids.planner, ids.writer],
      text: "A plan for a picnic"
    })
    expect(status).toBe(200)
    expect(body.steps.map((s: { agent: string }) => s.agent)).toEqual([ids.planner, ids.writer])
    expect(body.steps[1].input).toBe(body.steps[0].output)
  })
})
