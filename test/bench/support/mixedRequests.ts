import type { SignedUp } from "../../support/auth.ts"

/**
 * The mixed request set of the startup (RSS after load) and soak benchmarks, one request per
 * index over 8 kinds: health, auth, agent create / list / read / delete, durable jobs, traces.
 * Agents are created and deleted so at most `keptAgents` exist: what grows in the platform is
 * then what the code keeps, not the data set (an ever longer agent list). Feed created ids back
 * with `created`.
 */
export const mixedRequests = (user: SignedUp, options: { readonly keptAgents: number; readonly namePrefix: string }) => {
  const json = { ...user.headers, "content-type": "application/json" }
  const agentIds: Array<string> = []
  const requestFor = (i: number): [string, RequestInit] => {
    switch (i % 8) {
      case 0:
        return ["/health", {}]
      case 1:
        return ["/auth/me", { headers: user.headers }]
      case 2:
        return ["/agents", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ projectId: user.projectId, name: `${options.namePrefix}-${i}`, systemPrompt: "be brief" })
        }]
      case 3:
        return [`/agents?projectId=${user.projectId}`, { headers: user.headers }]
      case 4:
        return [`/agents/${agentIds[i % Math.max(1, agentIds.length)] ?? "none"}`, { headers: user.headers }]
      case 5:
        return ["/system/jobs", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ jobId: `${options.namePrefix}-${i}`, durationMs: 0, projectId: user.projectId })
        }]
      case 6:
        return ["/observability/traces", { headers: user.headers }]
      default:
        return agentIds.length > options.keptAgents
          ? [`/agents/${agentIds.shift()}`, { method: "DELETE", headers: user.headers }]
          : ["/observability/traces", { headers: user.headers }]
    }
  }
  /** Request `i` answered with `status` and `body`: remembers the agent it created, if any. */
  const created = (i: number, status: number, body: string) => {
    if (i % 8 === 2 && status === 201) agentIds.push((JSON.parse(body) as { id: string }).id)
  }
  return { requestFor, created }
}
