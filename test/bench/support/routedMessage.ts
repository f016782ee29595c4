/**
 * The routed message the `orchestrator` bench and its diagnostics (orchestratorCpu.ts,
 * orchestratorSteady.ts) send: a new user registers `agent` with the orchestrator, then each
 * call is a synchronous `POST /orchestrator/message` to it, which must answer delivered.
 */
import type { RemoteAgent } from "../../orchestrator/remoteAgent.ts"
import { signUp } from "../../support/auth.ts"
import type { TestPlatform } from "../../support/platform.ts"

export const routedMessages = async (platform: TestPlatform, agent: RemoteAgent) => {
  const user = await signUp(platform.baseUrl)
  const headers = { ...user.headers, "content-type": "application/json" }
  const registered = await fetch(`${platform.baseUrl}/orchestrator/register`, {
    method: "POST",
    headers,
    body: JSON.stringify({ projectId: user.projectId, cardUrl: agent.cardUrl })
  })
  if (!registered.ok) throw new Error(`register answered ${registered.status}: ${await registered.text()}`)
  const agentId = (await registered.json()).id as string
  /** Routes message `i` to the agent; throws unless it was delivered. */
  return async (i: number) => {
    const res = await fetch(`${platform.baseUrl}/orchestrator/message`, {
      method: "POST",
      headers,
      body: JSON.stringify({ projectId: user.projectId, to: agentId, text: `m${i}` })
    })
    if ((await res.json()).status !== "delivered") throw new Error(`message ${i} not delivered`)
  }
}
