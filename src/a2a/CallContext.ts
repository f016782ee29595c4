import type { Option } from "effect"
import type { Principal } from "../domain/Identity.ts"
import type { Agent } from "../domain/Agent.ts"

/** Who calls which A2A endpoint: the per-agent endpoint fixes `agent`, the platform one resolves it per call. */
export interface CallContext {
  readonly principal: Principal
  readonly agent: Option.Option<Agent>
  readonly baseUrl: string
}
