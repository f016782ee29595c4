import { Cause, Effect, Option, Stream } from "effect"
import { agentText, type A2aMessage, type TaskState, textOf } from "../domain/Task.ts"
import { EventBus } from "../events/EventBus.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { costUsd } from "../llm/Pricing.ts"
import { runToolLoop, type ToolOutcome } from "../llm/ToolLoop.ts"
import type { ChatMessage, ToolCall, ToolDefinition } from "../llm/Types.ts"
import { ToolCatalog } from "../domain/Tool.ts"
import { AgentRepo } from "./AgentRepo.ts"
import type { Agent } from "../domain/Agent.ts"
import { publishProgress } from "./TaskEvents.ts"
import { type MessageEntry, TaskRepo } from "./TaskRepo.ts"

const RESPONSE_ARTIFACT = "response"

/**
 * Runs one task for the Agent entity: the conversation's transcript (all
 * tasks of the context) → LLM tool loop → messages, artifact, final status
 * and a run row (tokens, cost) in SQL, with live progress on the EventBus.
 * Idempotent per task: a finished task is answered, not re-run.
 */
export class AgentRunner extends Effect.Service<AgentRunner>()("Agents/AgentRunner", {
  effect: Effect.gen(function*() {
    const agents = yield* AgentRepo
    const tasks = yield* TaskRepo
    const llm = yield* LanguageModel
    const bus = yield* EventBus
    // Optional: without a Tools service an agent simply has no tools.
    const catalog = yield* Effect.serviceOption(ToolCatalog)

    const publish = (agentId: string, projectId: string, p: Parameters<typeof publishProgress>[2]) =>
      publishProgress(agentId, projectId, p).pipe(Effect.provideService(EventBus, bus))

    const publishFinal = (agentId: string, projectId: string, taskId: string, contextId: string, state: TaskState, message?: A2aMessage) =>
      publish(agentId, projectId, {
        _tag: "Status",
        taskId,
        contextId,
        status: { state, ...(message ? { message } : {}), timestamp: new Date().toISOString() },
        final: true
      })

    /** Ends a task (unless it already ended) and tells listeners. */
    const finish = (
      agentId: string,
      projectId: string,
      taskId: string,
      contextId: string,
      state: TaskState,
      message?: A2aMessage
    ) =>
      Effect.gen(function*() {
        const changed = yield* tasks.transition(taskId, state, message)
        if (changed) yield* publishFinal(agentId, projectId, taskId, contextId, state, message)
        return changed
      })

    const toolsFor = (agent: Agent): Effect.Effect<ReadonlyArray<ToolDefinition>> => {
      if (agent.tools.length === 0 || Option.isNone(catalog)) return Effect.succeed([])
      return catalog.value.list(agent.projectId).pipe(
        Effect.map((specs) =>
          specs.filter((s) => agent.tools.includes(s.name)).map((s) => ({
            name: s.name,
            description: s.description,
            parameters: s.inputSchema
          }))
        )
      )
    }

    const callTool = (agent: Agent) => (call: ToolCall): Effect.Effect<ToolOutcome> => {
      if (Option.isNone(catalog) || !agent.tools.includes(call.name)) {
        return Effect.succeed({ content: `tool ${call.name} is not available to this agent`, isError: true })
      }
      return catalog.value.call(agent.projectId, call.name, call.arguments, { timeoutMs: 60_000 }).pipe(
        Effect.map((r): ToolOutcome => ({
          content: r.content.map((c) => (c.type === "text" ? c.text : JSON.stringify(c))).join("\n"),
          isError: r.isError
        })),
        // A failed tool is information for the model, not the end of the run.
        Effect.catchAll((e) => Effect.succeed({ content: `${e._tag}: ${e.message}`, isError: true })),
        Effect.withSpan("Agent.toolCall", { attributes: { "gen_ai.tool.name": call.name } })
      )
    }

    const currentState = (taskId: string) =>
      Effect.map(tasks.get(taskId), Option.match({ onNone: (): TaskState => "failed", onSome: (t) => t.task.status.state }))

    const run = Effect.fn("AgentRunner.run")(function*(taskId: string) {
      const claim = yield* tasks.claim(taskId)
      if (Option.isNone(claim)) return { taskId, state: "failed" as TaskState }
      const { agentId, projectId, contextId } = claim.value
      if (claim.value._tag === "NotRunnable") {
        const { agentExists, state } = claim.value
        // Finished (or waiting for input): answered as it is, not re-run.
        if (state !== "submitted" && state !== "working") return { taskId, state }
        if (!agentExists) {
          yield* finish(agentId, projectId, taskId, contextId, "failed", agentText("agent no longer exists", taskId, contextId))
          return { taskId, state: "failed" as TaskState }
        }
        // Runnable when read but ended before our update (a concurrent cancel): answer what it is now.
        return { taskId, state: yield* currentState(taskId) }
      }
      const agentOption = yield* agents.findInternal(agentId)
      if (Option.isNone(agentOption)) {
        yield* finish(agentId, projectId, taskId, contextId, "failed", agentText("agent no longer exists", taskId, contextId))
        return { taskId, state: "failed" as TaskState }
      }
      const agent = agentOption.value
      yield* publish(agentId, projectId, {
        _tag: "Status",
        taskId,
        contextId,
        status: { state: "working", timestamp: new Date().toISOString() },
        final: false
      })

      const messages: Array<ChatMessage> = [
        ...(agent.systemPrompt === "" ? [] : [{ role: "system" as const, content: agent.systemPrompt }]),
        ...claim.value.transcript
      ]
      const started = new Date()
      const startedMs = performance.now()
      const tools = yield* toolsFor(agent)
      const loop = runToolLoop(llm, {
        request: {
          provider: agent.provider,
          model: agent.model,
          messages,
          tools,
          ...(agent.config.maxTokens === undefined ? {} : { maxTokens: agent.config.maxTokens }),
          ...(agent.config.temperature === undefined ? {} : { temperature: agent.config.temperature })
        },
        maxSteps: agent.config.maxSteps ?? llm.maxSteps,
        callTool: callTool(agent)
      }).pipe(
        Stream.tap((e) => {
          switch (e._tag) {
            case "TextDelta":
              return publish(agentId, projectId, { _tag: "Delta", taskId, contextId, text: e.text, step: e.step })
            case "ToolCallStarted":
              return publish(agentId, projectId, { _tag: "Tool", taskId, contextId, phase: "started", name: e.call.name, callId: e.call.id })
            case "ToolCallFinished":
              return publish(agentId, projectId, {
                _tag: "Tool",
                taskId,
                contextId,
                phase: "finished",
                name: e.call.name,
                callId: e.call.id,
                isError: e.outcome.isError
              })
            case "Done":
              return Effect.void
          }
        }),
        Stream.runLast
      )
      const runRecord = (status: string, usage: { inputTokens: number; outputTokens: number }, steps: number, error: string | null) => ({
        id: `run_${crypto.randomUUID()}`,
        taskId,
        agentId,
        projectId,
        requestedProvider: agent.provider,
        provider: llm.effectiveProvider(agent.provider),
        model: agent.model,
        status,
        steps,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        costUsd: costUsd(llm.effectiveProvider(agent.provider), agent.model, usage),
        error,
        startedAt: started,
        durationMs: performance.now() - startedMs
      })

      const outcome = yield* loop.pipe(
        Effect.onInterrupt(() => tasks.recordRun(runRecord("canceled", { inputTokens: 0, outputTokens: 0 }, 0, null))),
        Effect.either
      )
      if (outcome._tag === "Left" || Option.isNone(outcome.right) || outcome.right.value._tag !== "Done") {
        const reason = outcome._tag === "Left" ? outcome.left.message : "the model produced no answer"
        const message = agentText(`The model call failed: ${reason}`, taskId, contextId)
        const ended = yield* tasks.finishRun({
          taskId,
          state: "failed",
          statusMessage: message,
          messages: [],
          artifacts: [],
          run: runRecord("failed", { inputTokens: 0, outputTokens: 0 }, 0, reason)
        })
        if (ended) yield* publishFinal(agentId, projectId, taskId, contextId, "failed", message)
        return { taskId, state: "failed" as TaskState }
      }
      const done = outcome.right.value
      const final = agentText(done.text, taskId, contextId)
      const entries: Array<MessageEntry> = done.messages.map((m, i): MessageEntry => {
        const isFinal = i === done.messages.length - 1
        return {
          // The answer's history entry is the status message itself.
          messageId: isFinal ? final.messageId : crypto.randomUUID(),
          role: isFinal && m.role === "assistant" ? "agent" : "tool",
          parts: m.role === "assistant" ? [{ kind: "text", text: m.content }] : [],
          llm: m
        }
      })
      const artifact = { artifactId: RESPONSE_ARTIFACT, name: "response", parts: [{ kind: "text" as const, text: done.text }] }
      // One statement for messages, artifact, run and final status: a crash cannot leave half an answer.
      const ended = yield* tasks.finishRun({
        taskId,
        state: "completed",
        statusMessage: final,
        messages: entries,
        artifacts: [artifact],
        run: runRecord(done.finishReason === "max_steps" ? "max_steps" : "completed", done.usage, done.steps, null)
      })
      // Canceled while the model was answering: the task keeps that outcome.
      if (!ended) return { taskId, state: yield* currentState(taskId) }
      yield* publish(agentId, projectId, { _tag: "Artifact", taskId, contextId, artifact })
      yield* publishFinal(agentId, projectId, taskId, contextId, "completed", final)
      return { taskId, state: "completed" as TaskState }
    })

    /** Cancels a task that is not running here (queued, or lost its runner). */
    const cancel = (taskId: string) =>
      Effect.gen(function*() {
        const stored = yield* tasks.get(taskId)
        if (Option.isNone(stored)) return Option.none<TaskState>()
        const { agentId, projectId, task } = stored.value
        const changed = yield* finish(agentId, projectId, taskId, task.contextId, "canceled")
        return Option.some<TaskState>(changed ? "canceled" : task.status.state)
      })

    const fail = (taskId: string, cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        yield* Effect.logError("agent task failed", cause).pipe(Effect.annotateLogs({ taskId }))
        const stored = yield* tasks.get(taskId)
        if (Option.isNone(stored)) return
        const { agentId, projectId, task } = stored.value
        yield* finish(agentId, projectId, taskId, task.contextId, "failed", agentText("internal error while running the task", taskId, task.contextId))
      })

    return { run, cancel, fail, textOf } as const
  }),
  dependencies: [AgentRepo.Default, TaskRepo.Default]
}) {}
