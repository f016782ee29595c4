import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import { EventBus } from "../../src/events/EventBus.ts"
import { ToolCatalog, ToolExecutionFailed } from "../../src/domain/Tool.ts"
import { WorkflowRuns } from "../../src/workflows/WorkflowRuns.ts"
import { WorkflowRepo } from "../../src/workflows/WorkflowRepo.ts"
import { waitFor } from "../support/process.ts"
import { countingServer, startEngine } from "./engineHarness.ts"

type Engine = Awaited<ReturnType<typeof startEngine>>
let engine: Engine
let server: ReturnType<typeof countingServer>
const toolCalls: Array<{ name: string; args: unknown }> = []

/** An in-test tool catalog: `upper` upper-cases its `text` argument, `broken` always fails. */
const TestTools = Layer.succeed(ToolCatalog, {
  list: () => Effect.succeed([]),
  call: (_projectId, name, args) => {
    toolCalls.push({ name, args })
    if (name === "broken") return Effect.fail(new ToolExecutionFailed({ tool: name, message: "backend down" }))
    const text = String((args as { text?: unknown }).text ?? "")
    return Effect.succeed({ content: [{ type: "text" as const, text: JSON.stringify({ upper: text.toUpperCase() }) }], isError: false })
  }
})

beforeAll(async () => {
  server = countingServer(async (path, req) => {
    if (path === "/slow" || path === "/slow-suspended") {
      await Bun.sleep(400)
      return Response.json({ ok: true, path })
    }
    if (path === "/fail") return new Response("upstream exploded", { status: 500 })
    if (path === "/bad") return new Response("nope", { status: 404 })
    if (path === "/echo") return Response.json({ method: req.method, body: req.method === "POST" ? await req.json() : null })
    return Response.json({ ok: true, path, n: 3, items: ["a", "b", "c"] })
  })
  engine = await startEngine(TestTools, { httpAllow: ["127.0.0.1"] })
}, 180_000)
afterAll(async () => {
  await engine?.stop()
  server?.stop()
})

describe("durable workflow runs", () => {
  test("sequential steps pass values through templates, conditions branch, the output is rendered", async () => {
    const runId = await engine.start({
      steps: [
        { id: "fetch", type: "http", url: `${server.url}/data` },
        { id: "tally", type: "set", values: { count: "{{ steps.fetch.output.body.n * 2 }}" } },
        {
          id: "branch",
          type: "condition",
          if: "vars.count > 5 && input.mode == 'full'",
          then: [{ id: "big", type: "http", method: "POST", url: `${server.url}/echo`, body: { count: "{{vars.count}}", who: "{{input.name}}" } }],
          else: [{ id: "small", type: "set", values: { size: "small" } }]
        },
        { id: "shout", type: "tool", tool: "upper", arguments: { text: "hello {{input.name}}" } }
      ],
      output: { posted: "{{steps.big.output.body.body}}", shouted: "{{steps.shout.output.upper}}", skipped: "{{steps.small.output}}" }
    }, { mode: "full", name: "ada" })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.error).toBeNull()
    expect(run.status).toBe("completed")
    expect(run.output).toEqual({ posted: { count: 6, who: "ada" }, shouted: "HELLO ADA", skipped: null })
    expect(Object.keys(run.stepResults).sort()).toEqual(["big", "branch", "fetch", "shout", "tally"])
    expect(run.stepResults.branch).toMatchObject({ status: "completed", output: { branch: "then" } })
    // The last step's completion is journaled by the run's finish.
    expect(run.stepResults.shout).toMatchObject({ status: "completed", output: { upper: "HELLO ADA" } })
  }, 30_000)

  test("parallel branches run at the same time and fan in", async () => {
    const before = server.hits("/slow")
    const runId = await engine.start({
      steps: [
        {
          id: "fan",
          type: "parallel",
          branches: [
            [{ id: "a", type: "http", url: `${server.url}/slow` }],
            [{ id: "b", type: "http", url: `${server.url}/slow` }],
            [{ id: "c", type: "http", url: `${server.url}/slow` }]
          ]
        },
        { id: "join", type: "set", values: { all: "{{ [steps.a.output.status, steps.b.output.status, steps.c.output.status] }}" } }
      ],
      output: "{{vars.all}}"
    })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("completed")
    expect(run.output).toEqual([200, 200, 200])
    expect(server.hits("/slow") - before).toBe(3)
    expect(server.maxInFlight()).toBeGreaterThanOrEqual(2)
  }, 30_000)

  test("a failing step is retried with backoff, then the run fails with a clear error", async () => {
    const before = server.hits("/fail")
    const runId = await engine.start({
      steps: [
        { id: "ok", type: "http", url: `${server.url}/data` },
        { id: "flaky", type: "http", url: `${server.url}/fail`, retry: { maxAttempts: 3, initialDelayMs: 50 } },
        { id: "never", type: "http", url: `${server.url}/never` }
      ]
    })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("failed")
    expect(run.error).toContain("step 'flaky' failed after 3 attempts")
    expect(run.error).toContain("HTTP 500")
    expect(server.hits("/fail") - before).toBe(3)
    expect(server.hits("/never")).toBe(0)
    expect(run.stepResults.flaky).toMatchObject({ status: "failed", attempt: 3 })
  }, 30_000)

  test("a non-retryable failure (404) is not retried", async () => {
    const before = server.hits("/bad")
    const runId = await engine.start({
      steps: [{ id: "missing", type: "http", url: `${server.url}/bad`, retry: { maxAttempts: 4, initialDelayMs: 10 } }]
    })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.error).toContain("failed after 1 attempt: HTTP 404")
    expect(server.hits("/bad") - before).toBe(1)
  }, 30_000)

  test("an approval suspends the run until signalled, then it resumes where it stopped", async () => {
    const runId = await engine.start({
      steps: [
        { id: "prepare", type: "http", url: `${server.url}/prepare` },
        { id: "gate", type: "approval", message: "ship {{input.release}}?" },
        { id: "ship", type: "http", url: `${server.url}/ship` }
      ],
      output: "{{steps.gate.output}}"
    }, { release: "v2" })
    let run = await engine.waitStatus(runId, ["waiting"])
    expect(run.stepResults.gate).toMatchObject({ status: "waiting", message: "ship v2?" })
    await Bun.sleep(300)
    expect(server.hits("/ship")).toBe(0)
    await engine.runtime.runPromise(Effect.gen(function*() {
      const runs = yield* WorkflowRuns
      yield* runs.signal(run, "gate", { approved: true, comment: "lgtm", by: "reviewer" })
    }))
    run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("completed")
    expect(run.output).toEqual({ approved: true, comment: "lgtm", by: "reviewer" })
    expect(server.hits("/prepare")).toBe(1)
    expect(server.hits("/ship")).toBe(1)
  }, 30_000)

  test("a step in flight when a parallel branch suspends the run ends and is journaled, not run again on resume", async () => {
    const runId = await engine.start({
      steps: [
        {
          id: "fan",
          type: "parallel",
          branches: [
            [{ id: "gate", type: "approval" }],
            [{ id: "work", type: "http", url: `${server.url}/slow-suspended` }, { id: "after", type: "http", url: `${server.url}/after-work` }]
          ]
        }
      ],
      output: "{{steps.work.output.body.path}}"
    })
    // The approval suspends the run while `work` (400 ms) is in flight: it finishes and is journaled.
    let run = await engine.waitStatus(runId, ["waiting"])
    await waitFor(async () => ((await engine.run(runId)).stepResults.work as { status?: string } | undefined)?.status === "completed", 10_000)
    expect(server.hits("/slow-suspended")).toBe(1)
    run = await engine.run(runId)
    await engine.runtime.runPromise(Effect.flatMap(WorkflowRuns, (runs) => runs.signal(run, "gate", { approved: true })))
    run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("completed")
    expect(run.output).toBe("/slow-suspended")
    expect(server.hits("/slow-suspended")).toBe(1)
    expect(server.hits("/after-work")).toBe(1)
  }, 30_000)

  test("a rejected approval fails the run; compensations of finished steps run in reverse", async () => {
    const runId = await engine.start({
      steps: [
        { id: "reserve", type: "http", method: "POST", url: `${server.url}/reserve`, body: {}, compensate: { type: "http", method: "POST", url: `${server.url}/release`, body: { id: "{{steps.reserve.output.body.path}}" } } },
        { id: "gate", type: "approval" }
      ]
    })
    const run = await engine.waitStatus(runId, ["waiting"])
    await engine.runtime.runPromise(Effect.flatMap(WorkflowRuns, (runs) => runs.signal(run, undefined, { approved: false, comment: "too risky" })))
    const done = await engine.waitStatus(runId, ["completed", "failed"])
    expect(done.status).toBe("failed")
    expect(done.error).toBe("approval 'gate' was rejected: too risky")
    await waitFor(() => server.hits("/release") === 1, 10_000)
    await Bun.sleep(300)
    expect(server.hits("/release")).toBe(1)
  }, 30_000)

  test("loops iterate over a list within their bound", async () => {
    const runId = await engine.start({
      steps: [
        { id: "list", type: "http", url: `${server.url}/list` },
        {
          id: "each",
          type: "loop",
          forEach: "steps.list.output.body.items",
          maxIterations: 5,
          steps: [{ id: "shout", type: "tool", tool: "upper", arguments: { text: "{{loop.item}}-{{loop.index}}" } }]
        }
      ],
      output: "{{steps.each.output.results}}"
    })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("completed")
    expect(run.output).toEqual([{ upper: "A-0" }, { upper: "B-1" }, { upper: "C-2" }])
    expect(Object.keys(run.stepResults)).toContain("each[2].shout")
  }, 30_000)

  test("a step whose backend is not configured fails with a typed, clear error", async () => {
    // This engine has no RAG service (the platform binds RagSearch to the port).
    const runId = await engine.start({ steps: [{ id: "ask", type: "rag", query: "what is {{input.topic}}" }] }, { topic: "x" })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.status).toBe("failed")
    expect(run.error).toContain("the rag backend is not configured")
    // An agent step reaches the Agents service: an unknown agent is a clear, non-retried failure.
    const agentRun = await engine.start({ steps: [{ id: "ask", type: "agent", agentId: "agt_missing", input: "hi", retry: { maxAttempts: 3 } }] })
    const failed = await engine.waitStatus(agentRun, ["completed", "failed"])
    expect(failed.error).toBe("step 'ask' failed after 1 attempt: agent agt_missing not found in this project")
  }, 30_000)

  test("hosts outside the allow-list are refused", async () => {
    const runId = await engine.start({ steps: [{ id: "out", type: "http", url: "http://example.com/" }] })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.error).toContain("not in the workflow HTTP allow-list")
  }, 30_000)

  test("cancelling a waiting run ends it", async () => {
    const runId = await engine.start({ steps: [{ id: "gate", type: "approval" }, { id: "after", type: "http", url: `${server.url}/after-cancel` }] })
    const run = await engine.waitStatus(runId, ["waiting"])
    await engine.runtime.runPromise(Effect.flatMap(WorkflowRuns, (runs) => runs.cancel(run)))
    const done = await engine.run(runId)
    expect(done.status).toBe("cancelled")
    await Bun.sleep(500)
    expect(server.hits("/after-cancel")).toBe(0)
    expect((await engine.run(runId)).status).toBe("cancelled")
  }, 30_000)

  test("the same idempotency key starts one run", async () => {
    const start = () =>
      engine.runtime.runPromise(Effect.flatMap(WorkflowRuns, (runs) =>
        runs.start({ projectId: engine.projectId, workflowId: null, version: 1, definition: { steps: [{ id: "x", type: "set", values: { a: 1 } }] }, input: {}, trigger: "api", idempotencyKey: "once", createdBy: null })))
    const [a, b] = await Promise.all([start(), start()])
    expect(a.run.id).toBe(b.run.id)
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1)
    const repoRun = await engine.runtime.runPromise(Effect.flatMap(WorkflowRepo, (r) => r.findRun(a.run.id)))
    expect(repoRun._tag).toBe("Some")
  }, 30_000)

  test("progress events are published on the EventBus topic of the run", async () => {
    let target = "pending"
    const fiber = engine.runtime.runFork(Effect.flatMap(EventBus, (bus) =>
      bus.subscribe("workflows/runs/").pipe(
        Stream.takeUntil((e) => e.topic === `workflows/runs/${target}` && e.type === "workflow.run.completed"),
        Stream.runCollect
      )))
    await Bun.sleep(100)
    const runId = await engine.start({ steps: [{ id: "one", type: "tool", tool: "upper", arguments: { text: "x" } }] })
    target = runId
    await engine.waitStatus(runId, ["completed"])
    const events = Chunk.toArray(await engine.runtime.runPromise(Fiber.join(fiber))).filter((e) => e.topic === `workflows/runs/${runId}`)
    const types = events.map((e) => e.type)
    expect(types).toContain("workflow.run.started")
    expect(types).toContain("workflow.step.started")
    expect(types).toContain("workflow.step.completed")
    expect(types[types.length - 1]).toBe("workflow.run.completed")
    expect(events.every((e) => e.projectId === engine.projectId)).toBe(true)
  }, 30_000)

  test("tool failures surface the tool's message", async () => {
    const runId = await engine.start({ steps: [{ id: "t", type: "tool", tool: "broken", arguments: {} }] })
    const run = await engine.waitStatus(runId, ["completed", "failed"])
    expect(run.error).toContain("tool broken: backend down")
    expect(toolCalls.some((c) => c.name === "broken")).toBe(true)
  }, 30_000)
})
