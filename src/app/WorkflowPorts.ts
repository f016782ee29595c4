import { Context, Effect, Layer, Option } from "effect"
import { RagSearch } from "../rag/RagSearch.ts"
import { SqlQueryTool } from "../sql-tool/SqlQueryTool.ts"
import { BackendError } from "../domain/WorkflowErrors.ts"
import { WorkflowRagPort } from "../workflows/ports/RagPort.ts"
import { WorkflowSqlPort } from "../workflows/ports/SqlPort.ts"
import { textOf } from "../domain/Task.ts"
import { AgentRepo } from "../agents/AgentRepo.ts"
import { AgentTasks } from "../agents/AgentTasks.ts"
import { WorkflowAgentPort } from "../workflows/ports/AgentPort.ts"

/**
 * Ports satisfied by the services of this deployment, when they are there:
 * each adapter looks its service up and provides nothing without it, so the
 * step fails with `BackendNotConfigured` rather than the process failing.
 */
const optionalPort = <I, S, PI, PS>(source: Context.Tag<I, S>, port: Context.Tag<PI, PS>, adapt: (service: S) => PS) =>
  Layer.effectContext(
    Effect.map(Effect.serviceOption(source), (found) =>
      Option.match(found, {
        onNone: () => Context.empty() as Context.Context<PI>,
        onSome: (service) => Context.make(port, adapt(service))
      }))
  )

const RagAdapter = optionalPort(RagSearch, WorkflowRagPort, (rag) => ({
  query: (r) =>
    rag.search({ projectId: r.projectId, query: r.query, k: r.topK }).pipe(
      Effect.map((result) => ({
        query: result.query,
        hits: result.hits.map((h) => ({
          documentId: h.documentId,
          filename: h.filename,
          chunkIndex: h.chunkIndex,
          content: h.content,
          score: h.score,
          metadata: h.metadata
        }))
      })),
      Effect.mapError((e) => new BackendError({ message: `rag: ${e.message}`, retryable: true }))
    )
}))

const isSqlParam = (v: unknown): v is string | number | boolean | null =>
  v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean"

const SqlAdapter = optionalPort(SqlQueryTool, WorkflowSqlPort, (tool) => ({
  query: (r) => {
    const params = r.params.map((p) => (isSqlParam(p) ? p : JSON.stringify(p)))
    return tool.query(r.projectId, { connection: r.connectionId, sql: r.query, params }).pipe(
      Effect.mapError((e) =>
        new BackendError({
          message: `sql: ${e.message}`,
          retryable: e._tag === "QueryFailed"
        })
      )
    )
  }
}))

/**
 * `agent` steps as A2A tasks of the project's agent (the Agent entity runs
 * them): the rendered input is the user message, the step waits for the task
 * to end and outputs its text and artifacts. A task that ends other than
 * `completed` fails the step (retryable when it `failed`).
 */
const AgentAdapter = Layer.effect(
  WorkflowAgentPort,
  Effect.gen(function*() {
    const tasks = yield* AgentTasks
    const agents = yield* AgentRepo
    return {
      invoke: (r) =>
        Effect.gen(function*() {
          const agent = yield* agents.find(r.agentId, [r.projectId])
          if (Option.isNone(agent)) {
            return yield* new BackendError({ message: `agent ${r.agentId} not found in this project`, retryable: false })
          }
          const text = typeof r.input === "string" ? r.input : JSON.stringify(r.input)
          const stored = yield* tasks.send({
            agent: agent.value,
            message: { messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "text", text }] },
            createdBy: null,
            metadata: { workflowRunId: r.runId, workflowStep: r.stepKey }
          }).pipe(Effect.mapError((e) => new BackendError({ message: `agent ${r.agentId}: ${e.message}`, retryable: e._tag !== "AgentNotFound" })))
          const task = stored.task
          const statusText = task.status.message ? textOf(task.status.message.parts) : ""
          if (task.status.state !== "completed") {
            return yield* new BackendError({
              message: `agent ${r.agentId} task ${task.id} ended ${task.status.state}${statusText ? `: ${statusText.slice(0, 300)}` : ""}`,
              retryable: task.status.state === "failed"
            })
          }
          const artifactText = task.artifacts.map((a) => textOf(a.parts)).join("\n")
          return { taskId: task.id, contextId: task.contextId, text: artifactText || statusText, artifacts: task.artifacts }
        })
    }
  })
).pipe(Layer.provide(Layer.merge(AgentTasks.Default, AgentRepo.Default)))

/** The workflow engine's ports (agent, RAG and SQL steps) bound to this process's services. */
export const WorkflowPortsLive = Layer.mergeAll(RagAdapter, SqlAdapter, AgentAdapter)
