import type { Option } from "effect"
import type { Principal } from "../domain/Identity.ts"
import type { Agent } from "../domain/Agent.ts"

/**
 * Who calls which A2A endpoint, settled once per request by Routes (one
 * credential check, one read of the endpoint's agent): the per-agent endpoint
 * fixes `agent`, the platform one resolves it per call. Handlers take both
 * from here and never authenticate or read the endpoint's agent again.
 */
export interface CallContext {
  readonly principal: Principal
  readonly agent: Option.Option<Agent>
  readonly baseUrl: string
}
