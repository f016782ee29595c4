import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Chunk, Effect, Fiber, Layer, Option, Redacted, Stream } from "effect"
import { SeparateDatabaseServer } from "../../src/db/CommitWithoutFlushWait.ts"
import { AgentRepo } from "../../src/agents/AgentRepo.ts"
import { AgentRunner } from "../../src/agents/AgentRunner.ts"
import { AgentTasks } from "../../src/agents/AgentTasks.ts"
import type { Agent } from "../../src/domain/Agent.ts"
import { TaskRepo, userMessageEntry } from "../../src/agents/TaskRepo.ts"
import { publishProgress, subscribeProgress, taskTopic } from "../../src/agents/TaskEvents.ts"
import { EventBus } from "../../src/events/EventBus.ts"
import { type A2aMessage, agentText, isTerminal } from "../../src/domain/Task.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LlmConfig } from "../../src/llm/LlmConfig.ts"
import { LOCAL_PREFIX } from "../../src/llm/providers/Local.ts"
import { startFakeOpenAi } from "../support/fakeProviders/openai.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"
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

/** What TaskRepo needs for a new task `id` of `agentId` in the test project, its first message "hi". */
const hiTask = (id: string, agentId: string, contextId: string = crypto.randomUUID()) => ({
  id,
  agentId,
  projectId: env.projectId,
  contextId,
  createdBy: "u1",
  userMessage: userMessageEntry(crypto.randomUUID(), [{ kind: "text", text: "hi" }])
})

/** The task a user message started (found by the message id), once it has ended. */
const endedTaskOf = async (rt: typeof env.rt, agentId: string, messageId: string, timeoutMs: number) => {
  const find = () =>
    rt.runPromise(Effect.flatMap(AgentTasks, (t) => t.list({ agentId, limit: 100, offset: 0 })))
      .then((page) => page.tasks.find((s) => s.task.history[0]?.messageId === messageId))
  await waitFor(async () => {
    const found = await find()
    return found !== undefined && isTerminal(found.task.status.state)
  }, timeoutMs)
  return (await find())!
}

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
    // The run sends back the task as it stored it: what a read answers.
    expect(stored).toEqual(await tasks((t) => t.getOrFail(stored.task.id)))
  })

  test("runs the tool loop via ToolCatalog and keeps the conversation's context", async () => {
    const first = await tasks((t) => t.send({ agent, message: userMessage("please add {\"a\": 2, \"b\": 40}"), createdBy: "u1" }))
    expect(first.task.status.state).toBe("completed")
    const text = first.task.status.message?.parts[0]
    expect(text?.kind === "text" && text.text).toContain("add returned: 42")
    const runs = await tasks((t) => t.runs(agent.id, 10))
    expect(runs.find((r) => r.taskId === first.task.id)?.steps).toBe(2)
    // Tool turns are transcript only: the answered task's history is the stored one.
    expect(first.task.history.map((m) => m.role)).toEqual(["user", "agent"])
    expect(first).toEqual(await tasks((t) => t.getOrFail(first.task.id)))
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
    expect(events[0]._tag).toBe("Snapshot")
    const deltas = events.filter((e) => e._tag === "Delta")
    expect(deltas.length).toBeGreaterThan(2)
    const last = events[events.length - 1]
    expect(last).toMatchObject({ _tag: "Status", final: true, status: { state: "completed" } })
    const text = deltas.map((d) => (d._tag === "Delta" ? d.text : "")).join("")
    expect(text).toContain("stream me please")
  })

  test("progress read from the bus is decoded with the TaskProgress schema: a payload of another shape is skipped", async () => {
    const events = await env.rt.runPromise(Effect.scoped(Effect.gen(function*() {
      const bus = yield* EventBus
      const live = yield* subscribeProgress("agent-x", "task-x")
      // The shape progress had before it was one schema (`type`, not `_tag`).
      yield* bus.publish({ topic: taskTopic("agent-x", "task-x"), type: "task.delta", projectId: "p1", data: { type: "delta", taskId: "task-x" } })
      yield* publishProgress("agent-x", "p1", { _tag: "Delta", taskId: "task-x", contextId: "c1", text: "hi", step: 1 })
      yield* publishProgress("agent-x", "p1", {
        _tag: "Status",
        taskId: "task-x",
        contextId: "c1",
        status: { state: "completed", timestamp: new Date(0).toISOString() },
        final: true
      })
      return Chunk.toArray(yield* Stream.runCollect(Stream.take(live, 2)))
    })))
    expect(events.map((e) => e._tag)).toEqual(["Delta", "Status"])
    expect(events[0]).toMatchObject({ text: "hi", step: 1 })
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
        const stored = yield* t.getOrFail(taskId!)
        const canceled = yield* t.cancel(stored)
        const events = Chunk.toArray(yield* Fiber.join(fiber))
        const again = yield* Effect.flip(t.cancel(canceled))
        return { canceled, events, again }
      })
    )
    expect(result.canceled.task.status.state).toBe("canceled")
    expect(result.events[result.events.length - 1]).toMatchObject({ _tag: "Status", final: true, status: { state: "canceled" } })
    expect(result.again).toMatchObject({ _tag: "TaskNotCancelable", state: "canceled" })
  }, 20_000)

  test("a blocking send whose caller stops waiting leaves the task running to the end", async () => {
    const message = userMessage("sleep {\"ms\": 800}")
    const stopped = await tasks((t) =>
      t.send({ agent, message, createdBy: "u1" }).pipe(Effect.timeout("150 millis"), Effect.flip)
    )
    expect(stopped._tag).toBe("TimeoutException")
    const ended = await endedTaskOf(env.rt, agent.id, message.messageId, 10_000)
    expect(ended.task.status.state).toBe("completed")
    const text = ended.task.status.message?.parts[0]
    expect(text?.kind === "text" && text.text).toContain("sleep returned: slept")
  }, 20_000)

  test("a run that ends after its task was canceled records its usage but gives the task no late answer", async () => {
    const result = await env.rt.runPromise(
      Effect.gen(function*() {
        const repo = yield* TaskRepo
        const id = crypto.randomUUID()
        const contextId = crypto.randomUUID()
        const runId = `run_${crypto.randomUUID()}`
        yield* repo.create(hiTask(id, agent.id, contextId))
        const claim = yield* repo.claim(id)
        const canceled = yield* repo.transition(id, "canceled")
        const late = agentText("late answer", id, contextId)
        const ended = yield* repo.finishRun({
          taskId: id,
          state: "completed",
          statusMessage: late,
          messages: [{ messageId: late.messageId, role: "agent", parts: late.parts, llm: { role: "assistant", content: "late answer", toolCalls: [] } }],
          artifacts: [{ artifactId: "response", parts: late.parts }],
          run: {
            id: runId,
            taskId: id,
            agentId: agent.id,
            projectId: env.projectId,
            requestedProvider: "local",
            provider: "local",
            model: "local",
            status: "completed",
            steps: 1,
            inputTokens: 3,
            outputTokens: 4,
            costUsd: 0,
            error: null,
            startedAt: new Date(),
            durationMs: 1
          }
        })
        const stored = Option.getOrThrow(yield* repo.get(id))
        const again = Option.getOrThrow(yield* repo.claim(id))
        const run = (yield* repo.runs(agent.id, 100)).find((r) => r.id === runId)
        return { claim: Option.getOrThrow(claim), canceled, ended, stored, again, run }
      }).pipe(Effect.provide(TaskRepo.Default))
    )
    expect(result.claim).toMatchObject({ _tag: "Claimed", transcript: [{ role: "user", content: "hi" }] })
    expect(result.canceled).toBe(true)
    expect(Option.isNone(result.ended)).toBe(true)
    expect(result.stored.task.status.state).toBe("canceled")
    expect(result.stored.task.history.map((m) => m.role)).toEqual(["user"])
    expect(result.stored.task.artifacts).toEqual([])
    expect(result.again).toMatchObject({ _tag: "NotRunnable", state: "canceled", agentExists: true })
    expect(result.run).toMatchObject({ status: "completed", inputTokens: 3, outputTokens: 4 })
  })
  test("a blocking send's task is created already claimed: earlier turns plus its message; a repeat writes nothing; no task without its agent", async () => {
    const result = await env.rt.runPromise(
      Effect.gen(function*() {
        const repo = yield* TaskRepo
        const contextId = crypto.randomUUID()
        const input = (id: string, text: string, agentId = agent.id) => ({
          id,
          agentId,
          projectId: env.projectId,
          contextId,
          createdBy: "u1",
          userMessage: { messageId: crypto.randomUUID(), role: "user" as const, parts: [{ kind: "text" as const, text }], llm: { role: "user" as const, content: text } }
        })
        // An earlier turn of the same conversation, stored the usual way.
        const earlier = crypto.randomUUID()
        yield* repo.create(input(earlier, "first turn"))
        const id = crypto.randomUUID()
        const created = yield* repo.createClaimed(input(id, "second turn"))
        const repeated = yield* repo.createClaimed(input(id, "second turn, again"))
        const stored = Option.getOrThrow(yield* repo.get(id))
        const orphan = crypto.randomUUID()
        const withoutAgent = yield* repo.createClaimed(input(orphan, "nobody", `agent_${crypto.randomUUID()}`))
        return { created, repeated, stored, withoutAgent, orphanRow: yield* repo.get(orphan) }
      }).pipe(Effect.provide(TaskRepo.Default))
    )
    expect(Option.getOrThrow(result.created)).toMatchObject({
      _tag: "Claimed",
      agentId: agent.id,
      transcript: [{ role: "user", content: "first turn" }, { role: "user", content: "second turn" }]
    })
    expect(Option.getOrThrow(result.created)).toMatchObject({ agent: { id: agent.id, systemPrompt: "be brief" } })
    expect(Option.isNone(result.repeated)).toBe(true)
    expect(result.stored.task.status.state).toBe("working")
    expect(result.stored.task.history.map((m) => m.parts)).toEqual([[{ kind: "text", text: "second turn" }]])
    expect(Option.isNone(result.withoutAgent)).toBe(true)
    expect(Option.isNone(result.orphanRow)).toBe(true)
  })

  test("a blocking send's task and first message are written in the transaction that stores its Execute", async () => {
    // Each Execute request row's inserting transaction, recorded as it is inserted (the row is
    // updated later, when its reply is stored).
    await env.rt.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.all([
        sql`CREATE TABLE IF NOT EXISTS execute_txids (message_id text PRIMARY KEY, txid text NOT NULL)`,
        sql`CREATE OR REPLACE FUNCTION record_execute_txid() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO execute_txids VALUES (NEW.message_id, xid(pg_current_xact_id())::text); RETURN NEW; END $$`,
        sql`DROP TRIGGER IF EXISTS record_execute_txid ON cluster_messages`,
        sql`CREATE TRIGGER record_execute_txid AFTER INSERT ON cluster_messages
          FOR EACH ROW WHEN (NEW.tag = 'Execute') EXECUTE FUNCTION record_execute_txid()`
      ], { discard: true })))
    const first = await tasks((t) => t.send({ agent, message: userMessage("first turn, stored with the request"), createdBy: "u1" }))
    const message = userMessage("second turn, stored with the request", first.task.contextId)
    const stored = await tasks((t) => t.send({ agent, message, createdBy: "u1" }))
    expect(stored.task.status.state).toBe("completed")
    // The same words in a conversation of their own, for the model's input size.
    const alone = await tasks((t) => t.send({ agent, message: userMessage("second turn, stored with the request"), createdBy: "u1" }))
    const rows = await env.rt.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ taskId: string; message: string | null; request: string | null; runs: number; inputTokens: number }>`
        SELECT t.id AS "taskId", m.xmin::text AS message, x.txid AS request,
               (SELECT count(*)::int FROM agent_runs WHERE task_id = t.id) AS runs,
               (SELECT max(input_tokens)::int FROM agent_runs WHERE task_id = t.id) AS "inputTokens"
        FROM agent_tasks t
        JOIN agent_messages m ON m.task_id = t.id AND m.role = 'user'
        LEFT JOIN execute_txids x ON x.message_id = 'Agent/' || t.agent_id || '/Execute/' || t.id
        WHERE t.id IN (${first.task.id}, ${stored.task.id}, ${alone.task.id})`))
    const byTask = new Map(rows.map((r) => [r.taskId, r]))
    for (const r of rows) {
      expect(r.request).not.toBeNull()
      expect(r.message).toBe(r.request)
      expect(r.runs).toBe(1)
    }
    // The run read the conversation as the request's statement saw it: the earlier turn too.
    expect(stored.task.history.map((m) => m.parts)).toEqual([message.parts, stored.task.status.message!.parts])
    expect(byTask.get(stored.task.id)!.inputTokens).toBeGreaterThan(byTask.get(alone.task.id)!.inputTokens)
  })

  test("a created claim commits without waiting for the WAL flush on a server of its own, never on the embedded database", async () => {
    const settingInItsTransaction = (separateServer: boolean) =>
      env.rt.runPromise(
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const repo = yield* TaskRepo
          return yield* sql.withTransaction(Effect.gen(function*() {
            const text = "flush policy"
            yield* repo.createClaimed({
              id: crypto.randomUUID(),
              agentId: agent.id,
              projectId: env.projectId,
              contextId: crypto.randomUUID(),
              createdBy: "u1",
              userMessage: userMessageEntry(crypto.randomUUID(), [{ kind: "text", text }])
            })
            const [row] = yield* sql<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`
            return row.s
          }))
        }).pipe(Effect.provide(TaskRepo.Default), Effect.provide(Layer.succeed(SeparateDatabaseServer, separateServer)))
      )
    expect(await settingInItsTransaction(true)).toBe("off")
    expect(await settingInItsTransaction(false)).toBe("on")
  })

  test("a run repeated after a crash finds its task already created and runs it once more, without a second copy", async () => {
    const id = crypto.randomUUID()
    const message = userMessage("hello again")
    const create = { projectId: env.projectId, contextId: crypto.randomUUID(), createdBy: "u1", messageId: message.messageId, parts: message.parts }
    const outcome = await env.rt.runPromise(
      Effect.gen(function*() {
        const repo = yield* TaskRepo
        // What the first run had done when its process died: the task created, claimed, unanswered.
        yield* repo.createClaimed({
          id,
          agentId: agent.id,
          projectId: create.projectId,
          contextId: create.contextId,
          createdBy: create.createdBy,
          userMessage: userMessageEntry(message.messageId, message.parts)
        })
        // The persisted Execute is delivered again, with the same new task.
        return yield* (yield* AgentRunner).run(id, agent.id, create)
      }).pipe(Effect.provide(AgentRunner.Default), Effect.provide(TaskRepo.Default))
    )
    expect(outcome).toMatchObject({ taskId: id, state: "completed" })
    const stored = await tasks((t) => t.getOrFail(id))
    expect(stored.task.history.map((m) => m.role)).toEqual(["user", "agent"])
    expect(stored.task.history[0].messageId).toBe(message.messageId)
  })

  test("two cancels of one running task at once both answer canceled (the entity's Cancel and its interrupted Execute)", async () => {
    const id = crypto.randomUUID()
    const answers = await env.rt.runPromise(
      Effect.gen(function*() {
        const repo = yield* TaskRepo
        yield* repo.createClaimed(hiTask(id, agent.id))
        const runner = yield* AgentRunner
        // Both read the task as working before either ends it; the one whose update finds it ended
        // must answer how it ended, not the working state it read.
        return yield* Effect.all([runner.cancel(id), runner.cancel(id)], { concurrency: "unbounded" })
      }).pipe(Effect.provide(AgentRunner.Default), Effect.provide(TaskRepo.Default))
    )
    expect(answers).toEqual([Option.some("canceled"), Option.some("canceled")])
  })

  test("a run whose model fails after its task was canceled answers canceled, as the task ended", async () => {
    // The model is held at its provider until the task was canceled, then fails (a 400: no retry).
    const provider = startFakeOpenAi()
    provider.script({ kind: "delay", ms: 1_500, then: { kind: "error", status: 400 } })
    const model = LanguageModel.Default.pipe(Layer.provide(LlmConfig.layerWith({
      openai: { apiKey: Option.some(Redacted.make("sk-test")), baseUrl: Option.some(provider.baseUrl) },
      maxRetries: 0
    })))
    try {
      const remote = await env.rt.runPromise(Effect.flatMap(AgentRepo, (r) =>
        r.create(env.projectId, {
          name: "Remote",
          description: "answers through a provider",
          provider: "openai",
          model: "gpt-4o-mini",
          systemPrompt: "",
          tools: [],
          skills: [],
          config: {}
        }, "u1")))
      const id = crypto.randomUUID()
      const result = await env.rt.runPromise(
        Effect.gen(function*() {
          const repo = yield* TaskRepo
          yield* repo.create(hiTask(id, remote.id))
          const runner = yield* AgentRunner
          const running = yield* Effect.fork(runner.run(id, remote.id))
          yield* Effect.promise(() => waitFor(async () => provider.received.length === 1, 5_000))
          const canceled = yield* repo.transition(id, "canceled")
          const answer = yield* Fiber.join(running)
          const stored = Option.getOrThrow(yield* repo.get(id))
          return { canceled, answer, state: stored.task.status.state }
        }).pipe(Effect.provide(AgentRunner.Default), Effect.provide(Layer.merge(TaskRepo.Default, model)))
      )
      expect(result.canceled).toBe(true)
      expect(result.state).toBe("canceled")
      expect(result.answer).toEqual({ taskId: id, state: "canceled" })
    } finally {
      provider.stop()
    }
  })
})

describe("Agent tasks across a restart", () => {
  test("a task interrupted by a shutdown runs to the end after restart on the same database", async () => {
    const tmp = makeTempDir("agents-restart")
    await seedDataDir(tmp.dir)
    const message = userMessage("sleep {\"ms\": 1500}")
    try {
      const first = await makeAgentsRuntime({}, { dataDir: tmp.dir })
      let sleeper: Agent
      try {
        sleeper = await first.rt.runPromise(Effect.flatMap(AgentRepo, (r) =>
          r.create(first.projectId, {
            name: "Sleeper",
            description: "restart test agent",
            provider: "local",
            model: "local",
            systemPrompt: "",
            tools: ["sleep"],
            skills: [],
            config: {}
          }, "u1")))
        const submitted = await first.rt.runPromise(Effect.flatMap(AgentTasks, (t) =>
          t.send({ agent: sleeper, message, createdBy: "u1" }, { returnImmediately: true })))
        expect(submitted.task.status.state).toBe("submitted")
        // Shut down while the run is inside its tool call.
        await waitFor(async () => {
          const now = await first.rt.runPromise(Effect.flatMap(AgentTasks, (t) => t.find(submitted.task.id)))
          return Option.isSome(now) && now.value.task.status.state === "working"
        }, 10_000)
      } finally {
        await first.dispose()
      }
      const second = await makeAgentsRuntime({}, { dataDir: tmp.dir })
      try {
        const ended = await endedTaskOf(second.rt, sleeper.id, message.messageId, 30_000)
        expect(ended.task.status.state).toBe("completed")
        const text = ended.task.status.message?.parts[0]
        expect(text?.kind === "text" && text.text).toContain("sleep returned: slept")
        expect(ended.task.history.map((m) => m.role)).toEqual(["user", "agent"])
      } finally {
        await second.dispose()
      }
    } finally {
      tmp.remove()
    }
  }, 120_000)
})
