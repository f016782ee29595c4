/**
 * The A2A request the `a2a` bench and its CPU diagnostic (a2aCpu.ts) send: a blocking
 * SendMessage to an echo agent of the platform, with the same body, checked the same way.
 */
import { signUp } from "../../support/auth.ts"

const body = (i: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: i,
    method: "SendMessage",
    params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: `hello ${i}` }] } }
  })

/** `requests` SendMessage calls at `concurrency`; every answer must be a completed task. Calls/s and each call's latency. */
export const sendMessages = async (url: string, headers: Record<string, string>, requests: number, concurrency: number) => {
  let next = 0
  let failures = 0
  const latencies: Array<number> = []
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = next++
      const sent = performance.now()
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "a2a-version": "1.0", ...headers }, body: body(i) })
      const json = (await res.json()) as { result?: { task?: { status?: { state?: string } } } }
      latencies.push(performance.now() - sent)
      if (json.result?.task?.status?.state !== "TASK_STATE_COMPLETED") failures++
    }
  }))
  const seconds = (performance.now() - started) / 1000
  if (failures > 0) throw new Error(`${failures} of ${requests} calls did not complete`)
  return { rate: requests / seconds, latencies }
}

/** A new user of the platform at `baseUrl` with an echo agent: the agent's A2A URL and the user's headers. */
export const echoAgent = async (baseUrl: string) => {
  const user = await signUp(baseUrl)
  const created = await fetch(`${baseUrl}/agents`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, templateId: "echo" })
  })
  const agent = (await created.json()) as { id: string }
  return { url: `${baseUrl}/agents/${agent.id}/a2a`, headers: user.headers }
}
