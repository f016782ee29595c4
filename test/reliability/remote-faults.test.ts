import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { signUp, type SignedUp } from "../support/auth.ts"
import { freePort } from "../support/freePort.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { spawnPlatform, waitFor } from "../support/process.ts"

/**
 * Remote A2A agents that misbehave, against a platform process: one that never answers, one
 * that drops the connection, one that answers garbage, one that answers JSON that is not
 * JSON-RPC, and one that keeps failing until it is fixed. Deliveries time out, are retried
 * while retrying can help, end as dead letters with a readable reason (never a hang or a 500),
 * and a circuit breaker stops calling an endpoint that failed 3 times in a row until its
 * cool-down has passed.
 */
type Mode = "ok" | "hang" | "drop" | "garbage" | "not-json-rpc" | "error-500" | "endless"

interface FaultyAgent {
  readonly cardUrl: string
  readonly hits: () => number
  mode: Mode
  readonly close: () => Promise<void>
}

const card = (base: string, name: string) => ({
  name,
  description: `${name} (fault test agent)`,
  version: "1.0.0",
  supportedInterfaces: [{ url: `${base}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0", tenant: "" }],
  capabilities: { streaming: false, pushNotifications: false },
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: []
})

/** node:http rather than Bun.serve: it can drop a connection (socket.destroy) mid-request. */
const startFaultyAgent = async (name: string, mode: Mode): Promise<FaultyAgent> => {
  let hits = 0
  const hanging = new Set<ServerResponse>()
  const agent: FaultyAgent = {
    cardUrl: "",
    hits: () => hits,
    mode,
    close: () => new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(card(base, name)))
      return
    }
    let body = ""
    req.on("data", (c) => (body += c))
    req.on("end", () => {
      hits++
      const id = (() => {
        try {
          return JSON.parse(body).id
        } catch {
          return null
        }
      })()
      switch (agent.mode) {
        case "hang":
          hanging.add(res)
          return
        case "drop":
          req.socket.destroy()
          return
        case "garbage":
          res.writeHead(200, { "content-type": "application/json" }).end("{\"jsonrpc\": \"2.0\", \"result\": <<<garbage")
          return
        case "not-json-rpc":
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ hello: "world" }))
          return
        case "endless": {
          // A body that never ends (bounded here at 64 MiB so a broken client cannot fill this test's memory).
          res.writeHead(200, { "content-type": "application/json" })
          res.write("{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": {\"pad\": \"")
          const chunk = "a".repeat(64 * 1024)
          let sent = 0
          const pump = () => {
            while (sent < 1024 && !res.destroyed) {
              sent++
              if (!res.write(chunk)) return void res.once("drain", pump)
            }
            res.end("\"}}")
          }
          res.on("close", () => (sent = 1024))
          pump()
          return
        }
        case "error-500":
          res.writeHead(500, { "content-type": "text/plain" }).end("internal trouble\n    at secret (/srv/agent.js:1:1)")
          return
        case "ok":
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
            jsonrpc: "2.0",
            id,
            result: { message: { messageId: crypto.randomUUID(), role: "ROLE_AGENT", parts: [{ text: `ok from ${name}` }] } }
          }))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return Object.assign(agent, { cardUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/agent-card.json` })
}

/** A Streamable HTTP "MCP server" that never speaks MCP: it hangs, drops the connection or answers garbage. */
const startFaultyMcpServer = async (mode: "hang" | "drop" | "garbage") => {
  let hits = 0
  const hanging = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    hits++
    req.resume()
    req.on("end", () => {
      if (mode === "hang") hanging.add(res)
      else if (mode === "drop") req.socket.destroy()
      else res.writeHead(200, { "content-type": "application/json" }).end("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"garbage")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

let db: Awaited<ReturnType<typeof createTestDatabase>>
let node: Awaited<ReturnType<typeof spawnPlatform>> | undefined
let user: SignedUp
const agents: Array<FaultyAgent> = []

beforeAll(async () => {
  db = await createTestDatabase("remote_faults")
  node = await spawnPlatform({
    DATABASE_URL: db.url,
    VECTOR_STORE: "disabled",
    // The fake agents listen on loopback: the operator allow-list admits it.
    EGRESS_ALLOW: "127.0.0.1",
    JWT_SECRET_KEY: `remote-faults-${crypto.randomUUID()}-${crypto.randomUUID()}`,
    HTTP_PORT: String(await freePort()),
    ORCHESTRATOR_ATTEMPT_TIMEOUT: "1 second",
    ORCHESTRATOR_BACKOFF_BASE: "50 millis",
    ORCHESTRATOR_BACKOFF_CAP: "300 millis",
    ORCHESTRATOR_CIRCUIT_FAILURES: "3",
    ORCHESTRATOR_CIRCUIT_COOLDOWN: "3 seconds",
    MCP_CONNECT_TIMEOUT_MS: "1500"
  })
  user = await signUp(node.baseUrl)
}, 180_000)

afterAll(async () => {
  await node?.kill("SIGKILL")
  await Promise.all(agents.map((a) => a.close()))
  await db?.drop()
}, 60_000)

const call = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${node!.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // No request may hang: a stuck one fails the test here.
    signal: AbortSignal.timeout(30_000)
  })
  return { status: response.status, body: await response.json() }
}

const register = async (name: string, mode: Mode) => {
  const agent = await startFaultyAgent(name, mode)
  agents.push(agent)
  const { status, body } = await call("POST", "/orchestrator/register", { projectId: user.projectId, cardUrl: agent.cardUrl })
  expect(status).toBe(201)
  return { agent, id: body.id as string }
}

const send = async (to: string, maxAttempts: number) => {
  const { status, body } = await call("POST", "/orchestrator/message", { projectId: user.projectId, to, text: "hello", mode: "async", maxAttempts })
  expect(status).toBe(200)
  return body.deliveryId as string
}

/** The delivery once it is no longer pending. */
const settled = async (deliveryId: string) => {
  let record: { status: string; attempts: number; lastError: string | null; reply: { text: string } | null } | undefined
  await waitFor(async () => {
    const { status, body } = await call("GET", `/orchestrator/deliveries/${deliveryId}`)
    record = body
    return status === 200 && body.status !== "pending"
  }, 45_000)
  return record!
}

describe("remote A2A agents that hang, drop connections or answer garbage", () => {
  test("a hanging agent: each attempt times out, retried, then dead-lettered with the reason", async () => {
    const { agent, id } = await register("Hangs", "hang")
    const record = await settled(await send(id, 2))
    expect(record.status).toBe("dead_lettered")
    expect(record.attempts).toBe(2)
    expect(record.lastError).toBe("gave up after 2 attempts: no answer within 1s")
    expect(agent.hits()).toBe(2)
  }, 60_000)

  test("dropped connections and garbage bodies are retried (transport trouble), then dead-lettered", async () => {
    for (const mode of ["drop", "garbage"] as const) {
      const { agent, id } = await register(`Faulty ${mode}`, mode)
      const record = await settled(await send(id, 2))
      expect(record.status).toBe("dead_lettered")
      expect(record.attempts).toBe(2)
      expect(agent.hits()).toBe(2)
      expect(record.lastError).toBe(`gave up after 2 attempts: ${mode === "drop" ? "destination not allowed or unreachable" : "malformed response"}`)
    }
  }, 90_000)

  test("an answer that never ends is cut at the response cap: dead-lettered at once, not read whole", async () => {
    const { agent, id } = await register("Talks forever", "endless")
    const record = await settled(await send(id, 5))
    expect(record.status).toBe("dead_lettered")
    expect(record.attempts).toBe(1)
    expect(agent.hits()).toBe(1)
    expect(record.lastError).toBe("rejected by agent: response over 4194304 bytes")
  }, 60_000)

  test("JSON that is not JSON-RPC is the agent's answer: dead-lettered at once, not retried", async () => {
    const { agent, id } = await register("Speaks nonsense", "not-json-rpc")
    const record = await settled(await send(id, 5))
    expect(record.status).toBe("dead_lettered")
    expect(record.attempts).toBe(1)
    expect(agent.hits()).toBe(1)
    expect(record.lastError).toBe("rejected by agent: not a JSON-RPC 2.0 response")
    const dead = await call("GET", `/orchestrator/dead-letters?projectId=${user.projectId}`)
    expect(dead.status).toBe(200)
    expect(dead.body.some((d: { to: string; reason: string }) => d.to === id && d.reason.includes("not a JSON-RPC"))).toBe(true)
  }, 60_000)

  test("circuit breaker: after 3 failures in a row the endpoint is left alone until the cool-down, then one trial closes it", async () => {
    const { agent, id } = await register("Keeps failing", "error-500")
    // 4 messages × 3 attempts would be 12 calls without a breaker.
    const deliveries = await Promise.all(Array.from({ length: 4 }, () => send(id, 3)))
    const records = await Promise.all(deliveries.map(settled))
    expect(records.every((r) => r.status === "dead_lettered")).toBe(true)
    expect(records.some((r) => r.lastError?.includes("circuit open"))).toBe(true)
    // The agent's stack trace never reaches the caller.
    for (const r of records) expect(r.lastError ?? "").not.toContain("/srv/agent.js")
    // Every call past the third was refused locally, except trials after a cool-down.
    expect(agent.hits()).toBeLessThan(12)
    expect(agent.hits()).toBeGreaterThanOrEqual(3)

    // Fixed: after the cool-down one trial goes through and closes the circuit.
    agent.mode = "ok"
    await waitFor(async () => {
      const record = await settled(await send(id, 1))
      return record.status === "delivered" && record.reply?.text === `ok from Keeps failing`
    }, 45_000)
    // Closed again: the next message is delivered on its first attempt.
    const next = await settled(await send(id, 1))
    expect(next.status).toBe("delivered")
    expect(next.attempts).toBe(1)
  }, 120_000)
})

describe("remote MCP servers that hang, drop connections or answer garbage", () => {
  test("registration answers a typed 400 naming the server and why, within the connect timeout, never a hang or a 500", async () => {
    for (const mode of ["hang", "drop", "garbage"] as const) {
      const server = await startFaultyMcpServer(mode)
      try {
        const { status, body } = await call("POST", "/tools/mcp/register", {
          projectId: user.projectId,
          name: `faulty-${mode}`,
          transport: { type: "http", url: server.url }
        })
        // Nothing is stored for a server that never completed the handshake: the caller's request was wrong.
        expect(status).toBe(400)
        expect(body._tag).toBe("BadRequest")
        expect(body.message).toContain("nothing was registered")
        expect(body.message).toContain("could not connect")
        expect(body.message).not.toContain("    at ")
        expect(server.hits()).toBeGreaterThan(0)
      } finally {
        await server.close()
      }
    }
  }, 120_000)
})
