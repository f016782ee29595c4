import type { Attributes } from "@opentelemetry/api"
import { Effect, MetricLabel, Schema } from "effect"
import { costUsd } from "../llm/Pricing.ts"
import { ProviderName } from "../domain/Provider.ts"
import { LlmMetrics, ToolMetrics } from "./Metrics.ts"

/**
 * OpenTelemetry GenAI semantic-convention attributes, and span helpers for
 * LLM and tool calls. Metrics (llm_tokens_total, llm_cost_usd_total,
 * llm_requests_total, tool_calls_total, tool_errors_total) are derived from
 * the ended spans (see SpanSink), so annotating the span is all a caller does:
 *
 *   provider.chat(request).pipe(
 *     withLlmSpan({ system: "openai", model: request.model }, (r) => ({
 *       inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: costUsd(...)
 *     }))
 *   )
 *
 *   catalog.call(projectId, name, args).pipe(withToolSpan(name, { projectId }))
 *
 * Spans you make yourself count too when they carry these attributes:
 * `gen_ai.operation.name` marks the call (one request), `gen_ai.usage.*` the
 * usage; without `gen_ai.usage.cost_usd` the cost comes from src/llm/Pricing.ts.
 */
export const GenAi = {
  system: "gen_ai.system",
  operationName: "gen_ai.operation.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  /** Not (yet) in the semantic conventions: estimated USD cost of the call. */
  costUsd: "gen_ai.usage.cost_usd",
  finishReasons: "gen_ai.response.finish_reasons",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  agentName: "gen_ai.agent.name",
  errorType: "error.type",
  /** Ties a span (and its trace) to a tenant: who may read it in GET /observability/traces. */
  projectId: "project.id"
} as const

export interface LlmCall {
  readonly system: string
  readonly model: string
  /** "chat" (default), "text_completion", "embeddings", ... */
  readonly operation?: string
  readonly projectId?: string
}

export interface LlmUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd?: number
  readonly responseModel?: string
}

/** Wraps one LLM call in a client span named `<operation> <model>` (the GenAI convention). */
export const withLlmSpan =
  <A>(call: LlmCall, usageOf: (result: A) => LlmUsage) => <E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(
      Effect.tap((result) => {
        const usage = usageOf(result)
        return Effect.annotateCurrentSpan({
          [GenAi.inputTokens]: usage.inputTokens,
          [GenAi.outputTokens]: usage.outputTokens,
          ...(usage.costUsd !== undefined ? { [GenAi.costUsd]: usage.costUsd } : {}),
          ...(usage.responseModel !== undefined ? { [GenAi.responseModel]: usage.responseModel } : {})
        })
      }),
      Effect.tapErrorCause(() => Effect.annotateCurrentSpan(GenAi.errorType, "llm_error")),
      Effect.withSpan(`${call.operation ?? "chat"} ${call.model}`, {
        kind: "client",
        attributes: {
          [GenAi.system]: call.system,
          [GenAi.operationName]: call.operation ?? "chat",
          [GenAi.requestModel]: call.model,
          ...(call.projectId !== undefined ? { [GenAi.projectId]: call.projectId } : {})
        }
      })
    )

/** Wraps one tool execution in an `execute_tool <name>` span. */
export const withToolSpan = (tool: string, options: { readonly projectId?: string; readonly callId?: string } = {}) =>
<A, E extends { readonly _tag?: string }, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.tapError((e) => Effect.annotateCurrentSpan(GenAi.errorType, e._tag ?? "error")),
    Effect.withSpan(`execute_tool ${tool}`, {
      kind: "internal",
      attributes: {
        [GenAi.operationName]: "execute_tool",
        [GenAi.toolName]: tool,
        ...(options.callId !== undefined ? { [GenAi.toolCallId]: options.callId } : {}),
        ...(options.projectId !== undefined ? { [GenAi.projectId]: options.projectId } : {})
      }
    })
  )

/** Tags the current span with its project (makes the trace readable by that project's members). */
export const annotateProject = (projectId: string) => Effect.annotateCurrentSpan(GenAi.projectId, projectId)

const label = MetricLabel.make
const isProvider = Schema.is(ProviderName)
const str = (v: unknown, fallback = "unknown") => (typeof v === "string" && v.length > 0 ? v : fallback)
const nonNegative = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0)

/** Span → LLM / tool metrics (called by the span processor for every ended span). */
export const recordGenAiSpan = (attributes: Attributes, durationMs: number, failed: boolean) => {
  const operation = attributes[GenAi.operationName]
  const system = str(attributes[GenAi.system])
  const model = str(attributes[GenAi.requestModel])
  // The tenant's project, so a project's alert rule counts its own calls only (see AlertEvaluator).
  const projectId = attributes[GenAi.projectId]
  const project = typeof projectId === "string" && projectId.length > 0 ? [label("project", projectId)] : []
  if (operation === "execute_tool") {
    const tool = str(attributes[GenAi.toolName])
    const status = failed || attributes[GenAi.errorType] !== undefined ? "error" : "ok"
    ToolMetrics.calls.unsafeUpdate(1, [label("tool", tool), label("status", status), ...project])
    ToolMetrics.duration.unsafeUpdate(durationMs / 1000, [label("tool", tool)])
    if (status === "error") {
      ToolMetrics.errors.unsafeUpdate(1, [label("tool", tool), label("error", str(attributes[GenAi.errorType], "error")), ...project])
    }
    return
  }
  if (typeof operation === "string") {
    const labels = [label("gen_ai_system", system), label("model", model)]
    LlmMetrics.requests.unsafeUpdate(1, [...labels, label("status", failed ? "error" : "ok"), ...project])
    LlmMetrics.duration.unsafeUpdate(durationMs / 1000, labels)
  }
  const input = nonNegative(attributes[GenAi.inputTokens])
  const output = nonNegative(attributes[GenAi.outputTokens])
  if (input > 0 || output > 0) {
    const labels = [label("gen_ai_system", system), label("model", model), ...project]
    LlmMetrics.tokens.unsafeUpdate(input, [...labels, label("type", "input")])
    LlmMetrics.tokens.unsafeUpdate(output, [...labels, label("type", "output")])
  }
  // Spans without a cost attribute are priced from the platform's list prices (0 for local/unknown models).
  const cost = attributes[GenAi.costUsd] !== undefined
    ? nonNegative(attributes[GenAi.costUsd])
    : isProvider(system) && (input > 0 || output > 0)
    ? costUsd(system, model, { inputTokens: input, outputTokens: output })
    : 0
  if (cost > 0) LlmMetrics.cost.unsafeUpdate(cost, [label("gen_ai_system", system), label("model", model), ...project])
}
