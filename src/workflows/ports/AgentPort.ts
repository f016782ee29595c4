import { Context, type Effect } from "effect"
import type { BackendError } from "../../domain/WorkflowErrors.ts"

export interface AgentInvocation {
  readonly projectId: string
  readonly agentId: string
  /** The rendered `input` of the step: a prompt string or a structured message. */
  readonly input: unknown
  /** For tracing and idempotency on the agent side: stable across retries of one step. */
  readonly runId: string
  readonly stepKey: string
}

/**
 * What a workflow's `agent` step needs from the Agents service. The agents
 * layer satisfies it with a thin adapter; without one, agent steps fail with
 * `BackendNotConfigured`.
 */
export class WorkflowAgentPort extends Context.Tag("Workflows/AgentPort")<
  WorkflowAgentPort,
  { readonly invoke: (request: AgentInvocation) => Effect.Effect<unknown, BackendError> }
>() {}
