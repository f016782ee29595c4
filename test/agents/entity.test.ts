import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { AgentRepo } from "../../src/agents/AgentRepo.ts"
import { AgentTasks } from "../../src/agents/AgentTasks.ts"
import type { Agent } from "../../src/agents/Domain.ts"
import type { A2aMessage } from "../../src/a2a/Model.ts"
import { LOCAL_PREFIX } from "../../src/llm/providers/Local.ts"
import { makeAgentsRuntime } from "./support.ts"

let env: Awaited<ReturnType<typeof makeAgentsRuntime>>
let agent: Agent

beforeAll(async () => {
  env = await makeAgentsRuntime()
  agent = await env.rt.runPromise(Effect.flatMap(AgentRepo, (r) =>
    r.create(env.projectId, {
      name: "Helper",
      description: "test agent",
      provider: "local",
      model: "local",
      systemPrompt: "be brief",
      tools: ["echo", "add", "sleep", "boom"],
      skills: [],
      config: {}
    }, "u1")))
}, 240_000)
afterAll(() => env.dispose())

const userMessage = (text: string, contextId?: string): A2aMessage => ({
  messageId: crypto.randomUUID(),
  role: "user",
  parts: [{ kind: "text", text }],
  ...(contextId ? { contextId } : {})
})
const tasks = <A, E>(f: (t: AgentTasks) => Effect.Effect<A, E>) => env.rt.runPromise(Effect.flatMap(AgentTasks, f))

describe("Agent entity", () => {
  test("executes a task through the entity: history, artifact and a run with usage are persisted", async () => {
    const stored = await tasks((t) => t.send({ agent, message: userMessage("hello agent"), createdBy: "u1" }))
    expect(stored.task.status.state).toBe("completed")
    expect(stored.task.history.map((m) => m.role)).toEqual(["user", "agent"])
    const answer = stored.task.status.message?.parts[0]
    expect(answer?.kind === "text" && answer.text).toContain(LOCAL_PREFIX)
    expect(answer?.kind === "text" && answer.text).toContain("hello agent")
    expect(stored.task.artifacts[0].artifactId).toBe("response")
    const runs = await tasks((t) => t.runs(agent.id, 10))
    const run = runs.find((r) => r.taskId === stored.task.id)
    expect(run).toMatchObject({ status: "completed", provider: "local", requestedProvider: "local", steps: 1, costUsd: 0 })
    expect(run!.inputTokens).toBeGreaterThan(0)
    expect(run!.outputTokens).toBeGreaterThan(0)
  })

  test("runs the tool loop via ToolCatalog and keeps the conversation's context", async () => {
    const first = await tasks((t) => t.send({ agent, message: userMessage("please add {\"a\": 2, \"b\": 40}"), createdBy: "u1" }))
    expect(first.task.status.state).toBe("completed")
    const text = first.task.status.message?.parts[0]
    expect(text?.kind === "text" && text.text).toContain("add returned: 42")
    const runs = await tasks((t) => t.runs(agent.id, 10))
    expect(runs.find((r) => r.taskId === first.task.id)?.steps).toBe(2)
    // Same context: the second task sees the first one's transcript.
    const second = await tasks((t) => t.send({ agent, message: userMessage("thanks", first.task.contextId), createdBy: "u1" }))
    expect(second.task.contextId).toBe(first.task.contextId)
    const listed = await tasks((t) => t.list({ agentId: agent.id, contextId: first.task.contextId, limit: 10, offset: 0 }))
    expect(listed.total).toBe(2)
  })

  test("a failing tool is reported to the model, the task still completes", async () => {
    const stored = await tasks((t) => t.send({ agent, message: userMessage("try boom now"), createdBy: "u1" }))
    expect(stored.task.status.state).toBe("completed")
    const text = stored.task.status.message?.parts[0]
    expect(text?.kind === "text" && text.text).toContain("boom failed: ToolExecutionFailed")
  })

  test("streams status and token deltas, ending with the final status", async () => {
    const events = await tasks((t) =>
      Stream.runCollect(t.stream({ agent, message: userMessage("stream me please"), createdBy: "u1" })).pipe(
        Effect.map(Chunk.toArray)
      )
    )
    expect(events[0].kind).toBe("task")
    const chunks = events.filter((e) => e.kind === "artifact-update")
    expect(chunks.length).toBeGreaterThan(2)
    const last = events[events.length - 1]
    expect(last).toMatchObject({ kind: "status-update", final: true, status: { state: "completed" } })
    const text = chunks.flatMap((c) => (c.kind === "artifact-update" ? c.artifact.parts : []))
      .map((p) => (p.kind === "text" ? p.text : "")).join("")
    expect(text).toContain("stream me please")
  })

  test("cancels a running task (interrupts its tool call); a finished task is not cancelable", async () => {
    const result = await tasks((t) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Stream.runCollect(t.stream({ agent, message: userMessage("sleep {\"ms\": 20000}"), createdBy: "u1" }))
        )
        // Wait until the task is working, then cancel it.
        let taskId: string | undefined
        for (let i = 0; i < 100 && taskId === undefined; i++) {
          yield* Effect.sleep(50)
          const listed = yield* t.list({ agentId: agent.id, state: "working", limit: 1, offset: 0 })
          taskId = listed.tasks[0]?.task.id
        }
        const stored = yield* t.load(taskId!)
        const canceled = yield* t.cancel(stored)
        const events = Chunk.toArray(yield* Fiber.join(fiber))
        const again = yield* Effect.flip(t.cancel(canceled))
        return { canceled, events, again }
      })
    )
    expect(result.canceled.task.status.state).toBe("canceled")
    expect(result.events[result.events.length - 1]).toMatchObject({ kind: "status-update", final: true, status: { state: "canceled" } })
    expect(result.again.code).toBe(-32002)
  }, 20_000)
})
