import { Duration, Effect } from "effect"
import { A2ASendError, type OutgoingMessage } from "./A2AClient.ts"
import type { AgentReply } from "./Domain.ts"

/**
 * Delivery to platform agents (the Agent entity). Kept behind this service so
 * the delivery engine does not depend on how agents execute.
 */
export class LocalAgents extends Effect.Service<LocalAgents>()("Orchestrator/LocalAgents", {
  succeed: {
    send: (
      _projectId: string,
      agentId: string,
      _message: OutgoingMessage,
      _timeout: Duration.DurationInput
    ): Effect.Effect<AgentReply, A2ASendError> =>
      Effect.fail(new A2ASendError({ message: `local agent ${agentId}: agent execution is not available`, retryable: false }))
  }
}) {}
