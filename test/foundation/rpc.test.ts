import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Chunk, Effect, Stream } from "effect"
import { SystemRpcs } from "../../rpc/SystemRpcs.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { runLive } from "../support/effect.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { httpProtocol, withRpcClient, wsProtocol } from "../support/rpcClient.ts"
import { waitFor } from "../support/process.ts"

let platform: TestPlatform
let user: SignedUp
beforeAll(async () => {
  platform = await startPlatform()
  user = await signUp(platform.baseUrl)
}, 90_000)
afterAll(() => platform.stop())

const transports = () => [
  // Browsers cannot set headers on a WebSocket handshake: the token rides in the query.
  ["WebSocket", wsProtocol(`${platform.wsUrl}/rpc/ws?access_token=${user.token}`)],
  ["HTTP", httpProtocol(`${platform.baseUrl}/rpc`, user.headers)]
] as const

describe("SystemRpcs served over WebSocket and HTTP", () => {
  test("Ping answers on both transports", async () => {
    for (const [name, protocol] of transports()) {
      const res = await runLive(withRpcClient(SystemRpcs, protocol, (client) => client.Ping()))
      expect(res.pong, name).toBe(true)
      expect(Math.abs(res.serverTime - Date.now()), name).toBeLessThan(60_000)
    }
  })

  test("a stream arrives in order on both transports", async () => {
    for (const [name, protocol] of transports()) {
      const items = await runLive(
        withRpcClient(SystemRpcs, protocol, (client) => Stream.runCollect(client.Ticks({ count: 5, intervalMs: 5 })))
      )
      expect(Chunk.toReadonlyArray(items), name).toEqual([1, 2, 3, 4, 5])
    }
  })

  test("a job submitted over RPC runs on the DurableJob entity; unknown job is a typed NotFound", async () => {
    const jobId = `rpc-${crypto.randomUUID()}`
    await runLive(
      withRpcClient(SystemRpcs, wsProtocol(`${platform.wsUrl}/rpc/ws?access_token=${user.token}`), (client) =>
        client.SubmitJob({ jobId, durationMs: 10 }))
    )
    await waitFor(async () => {
      const job = await runLive(
        withRpcClient(SystemRpcs, httpProtocol(`${platform.baseUrl}/rpc`, user.headers), (client) =>
          client.GetJob({ jobId }))
      )
      return job.status === "completed" && job.attempts === 1
    }, 15_000)
    const missing = await runLive(
      withRpcClient(SystemRpcs, httpProtocol(`${platform.baseUrl}/rpc`, user.headers), (client) =>
        Effect.flip(client.GetJob({ jobId: "nope" })))
    )
    expect(missing._tag).toBe("NotFound")
  })

  test("the server rejects an invalid payload sent on the wire", async () => {
    // Bypass the typed client (it validates before sending) to exercise the server's decoding.
    const res = await fetch(`${platform.baseUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/ndjson", ...user.headers },
      body: JSON.stringify({ _tag: "Request", id: "1", tag: "Ticks", payload: { count: 0, intervalMs: 1 }, headers: [] }) + "\n"
    })
    const text = await res.text()
    expect(text).toContain("Expected a number between 1 and 1000")
    expect(text).toContain("\"_tag\":\"Exit\"")
  })

  test("without a token: 401 over HTTP and before the WebSocket upgrade", async () => {
    const res = await fetch(`${platform.baseUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/ndjson" },
      body: JSON.stringify({ _tag: "Request", id: "1", tag: "Ping", payload: {}, headers: [] }) + "\n"
    })
    expect(res.status).toBe(401)
    const upgrade = await fetch(`${platform.baseUrl}/rpc/ws`, {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": btoa("0123456789abcdef") }
    })
    expect(upgrade.status).toBe(401)
  })
})
