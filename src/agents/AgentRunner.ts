import { Cause, Effect, Option } from "effect"
import { agentText, type A2aMessage, type PublishedProgress, type TaskState, textOf } from "../domain/Task.ts"
import { EventBus } from "../events/EventBus.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { costUsd } from "../llm/Pricing.ts"
import { type DoneEvent, runToolLoop, type ToolOutcome } from "../llm/ToolLoop.ts"
import { type ChatMessage, emptyUsage, type ToolCall, type ToolDefinition, type Usage } from "../llm/Types.ts"
import { ToolCatalog } from "../domain/Tool.ts"
import type { Agent } from "../domain/Agent.ts"
import type { NewTask, TaskOutcome } from "../../entities/AgentEntity.ts"
import { resultOf } from "../cluster/RequestWrites.ts"
import { createRow, createWrite, executeKey } from "./TaskCreateWrite.ts"
import { type FinishRow, finishedTask, finishRow } from "./TaskFinishWrite.ts"
import { progressEvent } from "./TaskEvents.ts"
import { createdClaim, type MessageEntry, type RunEnd, type RunRecord, type TaskClaim, TaskRepo } from "./TaskRepo.ts"

const RESPONSE_ARTIFACT = "response"

interface TaskKeys {
  readonly taskId: string
  readonly agentId: string
  readonly projectId: string
  readonly contextId: string
}

/** A claimed task on its way through the model: its keys, agent, conversation and start time. */
interface ClaimedRun extends TaskKeys {
  readonly agent: Agent
  readonly transcript: ReadonlyArray<ChatMessage>
  readonly tools: ReadonlyArray<ToolDefinition>
  readonly started: Date
  readonly startedMs: number
  /** This run created the task (a blocking send's `create`): its first message and metadata. */
  readonly created: { readonly userMessage: MessageEntry; readonly metadata: Record<string, unknown> | undefined } | undefined
}

/**
 * How a run may end a task it created: `answer` with `row` written in the transaction that
 * stores the answer (the Agent entity's reply, src/cluster/ReplyWrites.ts), and `after` once it
 * committed. Answers `answer` itself.
 */
export type FinishWith = (answer: TaskOutcome, row: FinishRow, after: Effect.Effect<void>) => Effect.Effect<TaskOutcome>

/**
 * Runs one task for the Agent entity: the conversation's transcript (all
 * tasks of the context) → LLM tool loop → messages, artifact, final status
 * and a run row (tokens, cost) in SQL, with live progress on the EventBus.
 * Idempotent per task: a finished task is answered, not re-run.
 */
export class AgentRunner extends Effect.Service<AgentRunner>()("Agents/AgentRunner", {
  effect: Effect.gen(function*() {
    const tasks = yield* TaskRepo
    const llm = yield* LanguageModel
    const bus = yield* EventBus
    // Optional: without a Tools service an agent simply has no tools.
    const catalog = yield* Effect.serviceOption(ToolCatalog)

    // On the bus this service holds, not by providing it per event: providing a service swaps (and first
    // compares) the fiber's whole context, ~50x the publish itself in the platform's context; a run publishes every token.
    const publish = (agentId: string, projectId: string, p: PublishedProgress) => bus.publish(progressEvent(agentId, projectId, p))

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

    /** A task the claim did not take: answered as it is, or failed when its agent is gone. */
    const answerUnclaimed = (taskId: string, claim: Extract<TaskClaim, { readonly _tag: "NotRunnable" }>) =>
      Effect.gen(function*() {
        const { agentExists, agentId, contextId, projectId, state } = claim
        // Finished (or waiting for input): answered as it is, not re-run.
        if (state !== "submitted" && state !== "working") return { taskId, state }
        if (!agentExists) return yield* failForMissingAgent({ taskId, agentId, projectId, contextId })
        // Runnable when read but ended before our update (a concurrent cancel): answer what it is now.
        return { taskId, state: yield* currentState(taskId) }
      })

    /**
     * Ends a task as `state` unless it already ended, and answers how it ended: when someone else
     * ended it between our read and our update (the entity's Cancel and the Execute it interrupted
     * both cancel), their outcome is the answer, not ours.
     */
    const endAs = (keys: TaskKeys, state: TaskState, message?: A2aMessage) =>
      Effect.flatMap(
        finish(keys.agentId, keys.projectId, keys.taskId, keys.contextId, state, message),
        (changed) => changed ? Effect.succeed(state) : currentState(keys.taskId)
      )

    const failForMissingAgent = (keys: TaskKeys) =>
      Effect.map(
        endAs(keys, "failed", agentText("agent no longer exists", keys.taskId, keys.contextId)),
        (state) => ({ taskId: keys.taskId, state })
      )

    /** The model's tool loop over the conversation, its progress published as it streams; its `Done`. */
    const callModel = (run: ClaimedRun) => {
      const { agent, agentId, contextId, projectId, taskId } = run
      const progress = (p: PublishedProgress) => publish(agentId, projectId, p)
      return runToolLoop(llm, {
        request: {
          provider: agent.provider,
          model: agent.model,
          messages: [
            ...(agent.systemPrompt === "" ? [] : [{ role: "system" as const, content: agent.systemPrompt }]),
            ...run.transcript
          ],
          tools: run.tools,
          ...(agent.config.maxTokens === undefined ? {} : { maxTokens: agent.config.maxTokens }),
          ...(agent.config.temperature === undefined ? {} : { temperature: agent.config.temperature })
        },
        maxSteps: agent.config.maxSteps ?? llm.maxSteps,
        callTool: callTool(agent)
      }, (e) => {
        switch (e._tag) {
          case "TextDelta":
            return progress({ _tag: "Delta", taskId, contextId, text: e.text, step: e.step })
          case "ToolCallStarted":
            return progress({ _tag: "Tool", taskId, contextId, phase: "started", name: e.call.name, callId: e.call.id })
          case "ToolCallFinished":
            return progress({
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
      })
    }

    /** The `agent_runs` row of this run: who answered, tokens, cost, duration. */
    const runRecord = (run: ClaimedRun, status: string, usage: Usage, steps: number, error: string | null): RunRecord => ({
      id: `run_${crypto.randomUUID()}`,
      taskId: run.taskId,
      agentId: run.agentId,
      projectId: run.projectId,
      requestedProvider: run.agent.provider,
      provider: llm.effectiveProvider(run.agent.provider),
      model: run.agent.model,
      status,
      steps,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      costUsd: costUsd(llm.effectiveProvider(run.agent.provider), run.agent.model, usage),
      error,
      startedAt: run.started,
      durationMs: performance.now() - run.startedMs
    })

    /** The model failed or gave no answer: the task fails with the reason, unless it already ended. */
    const recordFailure = (run: ClaimedRun, reason: string) =>
      Effect.gen(function*() {
        const message = agentText(`The model call failed: ${reason}`, run.taskId, run.contextId)
        const ended = yield* tasks.finishRun({
          taskId: run.taskId,
          state: "failed",
          statusMessage: message,
          messages: [],
          artifacts: [],
          run: runRecord(run, "failed", emptyUsage, 0, reason)
        })
        // Canceled while the model was failing: the task keeps that outcome, and it is the answer.
        if (Option.isNone(ended)) return { taskId: run.taskId, state: yield* currentState(run.taskId) }
        yield* publishFinal(run.agentId, run.projectId, run.taskId, run.contextId, "failed", message)
        return { taskId: run.taskId, state: "failed" as TaskState, task: ended.value.task }
      })

    /**
     * The answer: messages, artifact, run and final status in one statement, then told to
     * listeners; for a task this run created, with `finishWith` when given (with the reply).
     */
    const recordAnswer = (run: ClaimedRun, done: DoneEvent, finishWith: FinishWith | undefined) =>
      Effect.gen(function*() {
        const { agentId, contextId, projectId, taskId } = run
        const final = agentText(done.text, taskId, contextId)
        const entries = done.messages.map((m, i): MessageEntry => {
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
        // Messages, artifact, run and final status in one statement: a crash cannot leave half an answer.
        const end: RunEnd = {
          taskId,
          state: "completed",
          statusMessage: final,
          messages: entries,
          artifacts: [artifact],
          run: runRecord(run, done.finishReason === "max_steps" ? "max_steps" : "completed", done.usage, done.steps, null)
        }
        const told = Effect.zipRight(
          publish(agentId, projectId, { _tag: "Artifact", taskId, contextId, artifact }),
          publishFinal(agentId, projectId, taskId, contextId, "completed", final)
        )
        if (run.created !== undefined && finishWith !== undefined) {
          const updatedAt = new Date()
          const task = finishedTask({ ...end, contextId, userMessage: run.created.userMessage, metadata: run.created.metadata, updatedAt })
          return yield* finishWith({ taskId, state: "completed", task }, finishRow(end, updatedAt), told)
        }
        const ended = yield* tasks.finishRun(end)
        // Canceled while the model was answering: the task keeps that outcome.
        if (Option.isNone(ended)) return { taskId, state: yield* currentState(taskId) }
        yield* told
        return { taskId, state: "completed" as TaskState, task: ended.value.task }
      })

    /**
     * The task claimed for this run. A new task (`create`) was written already claimed with the
     * Execute when that was stored from this process (TaskCreateWrite.ts: its agent and transcript
     * come from there); otherwise it is written here, unless that was done before (a request read
     * back from storage, a repeated run) — then, as a stored task, claimed from its row.
     */
    const claimTask = (taskId: string, agentId: string, create: NewTask | undefined) =>
      Effect.gen(function*() {
        type Claim = { readonly claim: Option.Option<TaskClaim>; readonly created: ClaimedRun["created"] }
        const stored = Effect.map(tasks.claim(taskId), (claim): Claim => ({ claim, created: undefined }))
        if (create === undefined) return yield* stored
        const input = createRow(taskId, agentId, create)
        const created = { userMessage: input.userMessage, metadata: input.metadata }
        // Written with the Execute that brought it here, when that was sent from this process.
        const written = yield* resultOf(executeKey(agentId, taskId), createWrite)
        if (Option.isSome(written)) return { claim: Option.some(createdClaim(input, written.value)), created }
        const claim = yield* tasks.createClaimed(input)
        return Option.isSome(claim) ? { claim, created } : yield* stored
      })

    /** Claims the task, runs the model over its conversation and records the answer (or the failure). */
    const run = Effect.fn("AgentRunner.run")(function*(taskId: string, hostAgentId: string, create?: NewTask, finishWith?: FinishWith) {
      const { claim, created } = yield* claimTask(taskId, hostAgentId, create)
      if (Option.isNone(claim)) return { taskId, state: "failed" as TaskState }
      if (claim.value._tag === "NotRunnable") return yield* answerUnclaimed(taskId, claim.value)
      const { agent, agentId, contextId, projectId, transcript } = claim.value
      yield* publish(agentId, projectId, {
        _tag: "Status",
        taskId,
        contextId,
        status: { state: "working", timestamp: new Date().toISOString() },
        final: false
      })
      const started = new Date()
      const startedMs = performance.now()
      const tools = yield* toolsFor(agent)
      const claimed: ClaimedRun = {
        taskId,
        agentId,
        projectId,
        contextId,
        agent,
        transcript,
        tools,
        started,
        startedMs,
        created
      }
      const outcome = yield* callModel(claimed).pipe(
        Effect.onInterrupt(() => tasks.recordRun(runRecord(claimed, "canceled", emptyUsage, 0, null))),
        Effect.either
      )
      if (outcome._tag === "Left") return yield* recordFailure(claimed, outcome.left.message)
      return yield* recordAnswer(claimed, outcome.right, finishWith)
    })

    /** Cancels a task that is not running here (queued, or lost its runner). */
    const cancel = (taskId: string) =>
      Effect.gen(function*() {
        const stored = yield* tasks.get(taskId)
        if (Option.isNone(stored)) return Option.none<TaskState>()
        const { agentId, projectId, task } = stored.value
        return Option.some(yield* endAs({ taskId, agentId, projectId, contextId: task.contextId }, "canceled"))
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
  dependencies: [TaskRepo.Default]
}) {}
