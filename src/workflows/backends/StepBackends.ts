import { type Context, Effect, Option } from "effect"
import { WorkflowsConfig } from "../WorkflowsConfig.ts"
import { ToolCatalog, type ToolResult } from "../../domain/Tool.ts"
import type { ActionStep, CompensationAction } from "../../domain/WorkflowDefinition.ts"
import { BackendError, BackendNotConfigured } from "../../domain/WorkflowErrors.ts"
import { WorkflowAgentPort } from "../ports/AgentPort.ts"
import { WorkflowRagPort } from "../ports/RagPort.ts"
import { WorkflowSqlPort } from "../ports/SqlPort.ts"
import { render, renderString, TemplateFailure } from "../Template.ts"
import { parseJson } from "../Expression.ts"
import { httpCall } from "./HttpCall.ts"

export interface ActionContext {
  readonly projectId: string
  readonly runId: string
  readonly stepKey: string
  readonly scope: Readonly<Record<string, unknown>>
}

/** A tool's answer as a step output: its structured content, else its text (JSON when it parses). */
const toolOutput = (result: ToolResult): unknown => {
  if (result.structuredContent !== undefined) return result.structuredContent
  const text = result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n")
  const parsed = parseJson(text)
  return parsed === null && text.trim() !== "null" ? text : parsed
}

const backend = <I, S>(tag: Context.Tag<I, S>, name: string) =>
  Effect.serviceOption(tag).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new BackendNotConfigured({ backend: name })),
      onSome: Effect.succeed
    }))
  )

/**
 * Runs one action (agent, tool, RAG, SQL, HTTP) with its templates rendered
 * against the run's variables. Backends are looked up when the step runs:
 * a deployment without, say, the SQL service fails SQL steps with a typed
 * `BackendNotConfigured` instead of failing to start.
 */
export const runAction = (
  step: ActionStep | CompensationAction,
  ctx: ActionContext,
  timeoutMs: number | undefined
): Effect.Effect<unknown, BackendError | BackendNotConfigured, WorkflowsConfig> =>
  Effect.suspend(() => dispatch(step, ctx, timeoutMs)).pipe(
    // Rendering runs inside these effects: an expression that cannot be evaluated fails the step (not retried).
    Effect.catchSomeDefect((defect) =>
      defect instanceof TemplateFailure
        ? Option.some(Effect.fail(new BackendError({ message: defect.message, retryable: false })))
        : Option.none()
    )
  )

const dispatch = (
  step: ActionStep | CompensationAction,
  ctx: ActionContext,
  timeoutMs: number | undefined
): Effect.Effect<unknown, BackendError | BackendNotConfigured, WorkflowsConfig> => {
  switch (step.type) {
    case "http":
      return Effect.flatMap(WorkflowsConfig, (workflowsConfig) =>
        httpCall({
          url: renderString(step.url, ctx.scope),
          method: step.method ?? "GET",
          headers: step.headers
            ? Object.fromEntries(Object.entries(step.headers).map(([k, v]) => [k, renderString(v, ctx.scope)]))
            : {},
          body: step.body === undefined ? undefined : render(step.body, ctx.scope),
          timeoutMs: timeoutMs ?? workflowsConfig.httpTimeoutMs,
          maxResponseBytes: workflowsConfig.httpMaxResponseBytes,
          allow: workflowsConfig.httpAllow,
          projectId: ctx.projectId
        }))
    case "tool":
      return Effect.flatMap(backend(ToolCatalog, "tools"), (tools) =>
        tools.call(ctx.projectId, step.tool, render(step.arguments ?? {}, ctx.scope), timeoutMs ? { timeoutMs } : {}).pipe(
          Effect.mapError((e) =>
            new BackendError({
              message: `tool ${step.tool}: ${e.message}`,
              retryable: e._tag === "ToolExecutionFailed" || e._tag === "ToolTimeout"
            })
          ),
          Effect.flatMap((result) =>
            result.isError
              ? Effect.fail(new BackendError({ message: `tool ${step.tool} returned an error: ${JSON.stringify(toolOutput(result)).slice(0, 300)}`, retryable: true }))
              : Effect.succeed(toolOutput(result))
          )
        ))
    case "agent":
      return Effect.flatMap(backend(WorkflowAgentPort, "agents"), (agents) =>
        agents.invoke({
          projectId: ctx.projectId,
          agentId: step.agentId,
          input: render(step.input, ctx.scope),
          runId: ctx.runId,
          stepKey: ctx.stepKey
        }))
    case "rag":
      return Effect.flatMap(backend(WorkflowRagPort, "rag"), (rag) =>
        rag.query({ projectId: ctx.projectId, query: renderString(step.query, ctx.scope), topK: step.topK ?? 5 }))
    case "sql":
      return Effect.flatMap(backend(WorkflowSqlPort, "sql"), (sql) =>
        sql.query({
          projectId: ctx.projectId,
          connectionId: step.connectionId,
          query: step.query,
          params: (step.params ?? []).map((p) => render(p, ctx.scope))
        }))
  }
}
