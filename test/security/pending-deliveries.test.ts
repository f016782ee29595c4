import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startRemoteAgent } from "../orchestrator/remoteAgent.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/**
 * A project's pending deliveries are bounded (src/orchestrator/PendingBound.ts): each holds
 * memory on its node until it finishes, and an agent that never answers would otherwise let
 * one project pile them up at its rate limit. Past the bound the project's messages get 429
 * with Retry-After and nothing is stored; other projects are not affected; when its deliveries
 * finish it may send again.
 */
const BOUND = 5
let platform: TestPlatform
let gate: () => void
const opened = new Promise<void>((resolve) => (gate = resolve))
let received = 0

const heldAgent = await startRemoteAgent({
  name: "Held",
  reply: async () => {
    received++
    await opened
    return "late"
  }
})
const echoAgent = await startRemoteAgent({ name: "Echo" })

beforeAll(async () => {
  platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } }, {
    ORCHESTRATOR_MAX_PENDING_PER_PROJECT: String(BOUND)
  })
}, 60_000)

afterAll(async () => {
  gate()
  await heldAgent.close()
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

const message = (user: SignedUp, to: string, text: string, mode: "sync" | "async", idempotencyKey?: string) =>
  fetch(`${platform.baseUrl}/orchestrator/message`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, to, text, mode, ...(idempotencyKey ? { idempotencyKey } : {}) })
  })

const statusOf = async (user: SignedUp, deliveryId: string) =>
  (await (await fetch(`${platform.baseUrl}/orchestrator/deliveries/${deliveryId}`, { headers: user.headers })).json()).status as string

describe("a project's pending deliveries", () => {
  test("are bounded: past the bound 429 and nothing stored, other projects unaffected, room again once they finish", async () => {
    const noisy = await signUp(platform.baseUrl)
    const quiet = await signUp(platform.baseUrl)
    const held = await register(noisy, heldAgent.cardUrl)
    const echo = await register(quiet, echoAgent.cardUrl)

    // One at a time so each is counted before the next is checked: exactly BOUND accepted.
    const accepted: Array<string> = []
    for (let i = 0; i < BOUND; i++) {
      const res = await message(noisy, held, `n${i}`, "async")
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.status).toBe("pending")
      accepted.push(body.deliveryId)
    }
    const refused = await message(noisy, held, "one too many", "async", "refused-key")
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    const error = await refused.json()
    expect(error._tag).toBe("TooManyRequests")
    expect(error.message).toContain(`at most ${BOUND}`)

    // Another project's message goes through while the first is at its bound.
    const other = await message(quiet, echo, "hello", "sync")
    expect(other.status).toBe(200)
    expect((await other.json()).status).toBe("delivered")

    // The agent answers: the held deliveries finish, and the project may send again.
    gate()
    const deadline = Date.now() + 30_000
    for (const id of accepted) {
      while ((await statusOf(noisy, id)) === "pending" && Date.now() < deadline) await Bun.sleep(50)
      expect(await statusOf(noisy, id)).toBe("delivered")
    }
    // A project at its bound counts again at most once a second.
    await Bun.sleep(1_100)
    const again = await message(noisy, held, "one too many", "sync", "refused-key")
    expect(again.status).toBe(200)
    const delivered = await again.json()
    expect(delivered.status).toBe("delivered")
    // The refused message was never stored: the key's first stored message is this one, sent once.
    expect(received).toBe(BOUND + 1)
  }, 90_000)
})
