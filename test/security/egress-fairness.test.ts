import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startRemoteAgent } from "../orchestrator/remoteAgent.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/**
 * One tenant's slow agent must not stall everyone's outbound requests (src/net/EgressSlots.ts).
 * Bun's fetch runs a bounded pool of requests per process; before the per-tenant bound, 300
 * asynchronous messages from one project to an agent that answers after 15 s held the whole pool,
 * and another project's routed message took 13.7 s. Here a project's share is 4: its held agent
 * sees at most 4 deliveries at once however many it sends, and another project's message is
 * delivered while they are held.
 */
const SHARE = 4
let platform: TestPlatform
let gate: () => void
const opened = new Promise<void>((resolve) => (gate = resolve))
let inProgress = 0
let peak = 0

const slowAgent = await startRemoteAgent({
  name: "Slow",
  reply: async () => {
    peak = Math.max(peak, ++inProgress)
    await opened
    inProgress--
    return "late"
  }
})
const echoAgent = await startRemoteAgent({ name: "Echo" })

beforeAll(async () => {
  platform = await startPlatform({ egress: { allow: ["127.0.0.1"], maxConcurrentPerTenant: SHARE } })
}, 60_000)

afterAll(async () => {
  gate()
  await slowAgent.close()
  await echoAgent.close()
  await platform?.stop()
})

const register = async (user: SignedUp, cardUrl: string) => {
  const res = await fetch(`${platform.baseUrl}/orchestrator/register`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, cardUrl })
  })
  expect(res.status).toBe(201)
  return (await res.json()).id as string
}

const message = async (user: SignedUp, to: string, text: string, mode: "sync" | "async") => {
  const res = await fetch(`${platform.baseUrl}/orchestrator/message`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, to, text, mode })
  })
  return (await res.json()) as { deliveryId: string; status: string }
}

describe("outbound requests shared between tenants", () => {
  test("a project's held deliveries take at most its share; another project's message is delivered meanwhile", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const slow = await register(noisy, slowAgent.cardUrl)
    const echo = await register(quiet, echoAgent.cardUrl)
    const accepted = await Promise.all(Array.from({ length: 12 }, (_, i) => message(noisy, slow, `n${i}`, "async")))
    expect(accepted.every((d) => d.status === "pending")).toBe(true)
    const deadline = Date.now() + 20_000
    while (inProgress < SHARE && Date.now() < deadline) await Bun.sleep(20)
    expect(inProgress).toBe(SHARE)

    const delivered = await message(quiet, echo, "hello", "sync")
    expect(delivered.status).toBe("delivered")
    expect(inProgress).toBe(SHARE)

    gate()
    for (const { deliveryId } of accepted) {
      let status = "pending"
      while (status === "pending" && Date.now() < deadline + 20_000) {
        const res = await fetch(`${platform.baseUrl}/orchestrator/deliveries/${deliveryId}`, { headers: noisy.headers })
        status = (await res.json()).status
        if (status === "pending") await Bun.sleep(50)
      }
      expect(status).toBe("delivered")
    }
    expect(peak).toBe(SHARE)
  }, 90_000)
})
