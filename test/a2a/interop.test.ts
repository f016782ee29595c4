import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startFakeOpenAi } from "../support/fakeProviders/openai.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

/**
 * Issue #21's interop fixes, on the wire: A2A-Version negotiation, ListTasks
 * filters and validation, snake_case push-config params, typed errors before a
 * stream opens, SSE keep-alive and no idle cut, push bodies in the version the
 * config was registered over, and cards per requested version.
 */
const fake = startFakeOpenAi()
let platform: TestPlatform
let owner: SignedUp
let agentId: string
const pushes: Array<{ body: any; token: string | null }> = []
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (req) => {
    pushes.push({ body: await req.json(), token: req.headers.get("x-a2a-notification-token") })
    return new Response(null, { status: 204 })
  }
})

beforeAll(async () => {
  const saved = { base: process.env.OPENAI_BASE_URL, keepAlive: process.env.A2A_SSE_KEEPALIVE_SECONDS }
  process.env.OPENAI_BASE_URL = fake.baseUrl
  process.env.A2A_SSE_KEEPALIVE_SECONDS = "1"
  try {
    platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
  } finally {
    for (const [key, value] of [["OPENAI_BASE_URL", saved.base], ["A2A_SSE_KEEPALIVE_SECONDS", saved.keepAlive]] as const) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
  owner = await signUp(platform.baseUrl)
  const res = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...owner.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: owner.projectId, name: "Interop", description: "talks", provider: "openai", model: "gpt-4o-mini", skills: [] })
  })
  expect(res.status).toBe(201)
  agentId = ((await res.json()) as { id: string }).id
}, 240_000)
afterAll(async () => {
  await platform?.stop()
  fake.stop()
  receiver.stop(true)
})

const call = (method: string, params: unknown, headers: Record<string, string> = {}) =>
  fetch(`${platform.baseUrl}/agents/${agentId}/a2a`, {
    method: "POST",
    headers: { ...owner.headers, "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
  })
const rpc = async (method: string, params: unknown, headers: Record<string, string> = {}) => (await (await call(method, params, headers)).json()) as any
const message = (text: string, extra: Record<string, unknown> = {}) => ({ messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text }], ...extra })
const sendOne = async (text: string) => {
  fake.script({ kind: "text", text: `answer to ${text}` })
  const sent = await rpc("SendMessage", { message: message(text) })
  return sent.result.task as { id: string; contextId: string; status: { state: string; timestamp: string } }
}

describe("A2A-Version negotiation", () => {
  test("an unsupported version is VersionNotSupported (-32009); 1.0, 0.3 and none are served", async () => {
    expect((await rpc("GetTask", { id: "nope" }, { "A2A-Version": "9.1" })).error.code).toBe(-32009)
    expect((await rpc("GetTask", { id: "nope" }, { "A2A-Version": "banana" })).error.code).toBe(-32009)
    for (const version of ["1.0", "0.3", ""]) {
      expect((await rpc("GetTask", { id: "nope" }, version === "" ? {} : { "A2A-Version": version })).error.code).toBe(-32001)
    }
  })
})

describe("ListTasks", () => {
  test("invalid pageToken, status, negative historyLength and invalid timestamp are -32602; so is SendMessage's negative historyLength", async () => {
    for (const params of [{ pageToken: "invalid-token-xyz" }, { status: "INVALID_STATUS" }, { historyLength: -1 }, { statusTimestampAfter: "not-a-date" }]) {
      expect((await rpc("ListTasks", params)).error.code).toBe(-32602)
    }
    expect((await rpc("SendMessage", { message: message("x"), configuration: { historyLength: -1 } })).error.code).toBe(-32602)
    expect((await rpc("GetTask", { id: "any", historyLength: -1 })).error.code).toBe(-32602)
    expect((await rpc("message/send", { message: { kind: "message", messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "text", text: "x" }] }, configuration: { historyLength: -2 } })).error.code).toBe(-32602)
  })

  test("statusTimestampAfter keeps tasks whose status changed at or after it; page tokens page through", async () => {
    const before = await sendOne("older")
    await Bun.sleep(50)
    const cut = new Date().toISOString()
    await Bun.sleep(50)
    const after = await sendOne("newer")
    const listed = await rpc("ListTasks", { statusTimestampAfter: cut, pageSize: 100 })
    const ids = listed.result.tasks.map((t: { id: string }) => t.id)
    expect(ids).toContain(after.id)
    expect(ids).not.toContain(before.id)
    const first = await rpc("ListTasks", { pageSize: 1 })
    expect(first.result.tasks).toHaveLength(1)
    expect(first.result.nextPageToken).not.toBe("")
    const second = await rpc("ListTasks", { pageSize: 1, pageToken: first.result.nextPageToken })
    expect(second.result.tasks[0].id).not.toBe(first.result.tasks[0].id)
  })
})

describe("streaming calls", () => {
  test("an unknown or terminal task is a JSON-RPC error response before any stream opens", async () => {
    const unknown = await call("SubscribeToTask", { id: "no-such-task" })
    expect(unknown.headers.get("content-type")).toContain("application/json")
    expect(((await unknown.json()) as any).error.code).toBe(-32001)
    const done = await sendOne("finished")
    const terminal = await call("SubscribeToTask", { id: done.id })
    expect(terminal.headers.get("content-type")).toContain("application/json")
    expect(((await terminal.json()) as any).error.code).toBe(-32004)
    const continued = await call("SendStreamingMessage", { message: message("more", { taskId: done.id }) })
    expect(continued.headers.get("content-type")).toContain("application/json")
    expect(((await continued.json()) as any).error.code).toBe(-32004)
  })
})

describe("calls quiet for longer than the server's idle timeout (Bun: 10 s per connection)", () => {
  // Both wait on the model at once: one 12 s wait covers the stream and the blocking call.
  test("a quiet stream gets keep-alive comments and is not cut; a quiet blocking SendMessage still gets its answer", async () => {
    const slow = { kind: "delay", ms: 12_000, then: { kind: "text", text: "worth the wait" } } as const
    fake.script(slow, slow)
    const streamed = (async () => {
      const res = await call("SendStreamingMessage", { message: message("take your time") })
      expect(res.headers.get("content-type")).toContain("text/event-stream")
      return res.text()
    })()
    const blocking = rpc("SendMessage", { message: message("no hurry") })
    const [text, sent] = await Promise.all([streamed, blocking])
    expect(text).toContain(": keep-alive\n\n")
    expect(text).toContain("worth the wait")
    expect(text).toContain("TASK_STATE_COMPLETED")
    expect(sent.result.task.status.state).toBe("TASK_STATE_COMPLETED")
    expect(JSON.stringify(sent.result.task)).toContain("worth the wait")
  }, 30_000)
})

describe("push notifications", () => {
  test("the push-config methods accept task_id as well as taskId", async () => {
    const task = await sendOne("push target")
    const url = `http://127.0.0.1:${receiver.port}/hook`
    const created = await rpc("CreateTaskPushNotificationConfig", { task_id: task.id, id: "snake", url })
    expect(created.result).toMatchObject({ id: "snake", taskId: task.id, url })
    expect((await rpc("GetTaskPushNotificationConfig", { task_id: task.id, id: "snake" })).result.id).toBe("snake")
    expect((await rpc("ListTaskPushNotificationConfigs", { task_id: task.id })).result.configs.map((c: any) => c.id)).toEqual(["snake"])
    expect((await rpc("DeleteTaskPushNotificationConfig", { task_id: task.id, id: "snake" })).result).toBeNull()
  })

  test("a config registered over v0.3 gets a v0.3 Task body; over v1.0 a v1.0 StreamResponse", async () => {
    const url = `http://127.0.0.1:${receiver.port}/hook`
    fake.script({ kind: "text", text: "pushed (0.3)" })
    const legacy = await rpc("message/send", {
      message: { kind: "message", messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "text", text: "push me" }] },
      configuration: { blocking: true, pushNotificationConfig: { url, token: "legacy-token" } }
    })
    fake.script({ kind: "text", text: "pushed (1.0)" })
    const current = await rpc("SendMessage", { message: message("push me too"), configuration: { taskPushNotificationConfig: { url, token: "v1-token" } } })
    await waitFor(() => pushes.some((p) => p.token === "legacy-token") && pushes.some((p) => p.token === "v1-token"), 10_000)
    const v03 = pushes.find((p) => p.token === "legacy-token")!.body
    expect(v03).toMatchObject({ kind: "task", id: legacy.result.id, status: { state: "completed" } })
    const v1 = pushes.find((p) => p.token === "v1-token")!.body
    expect(v1).toMatchObject({ task: { id: current.result.task.id, status: { state: "TASK_STATE_COMPLETED" } } })
  })
})

describe("agent cards", () => {
  const card = async (path: string, version?: string) =>
    (await (await fetch(`${platform.baseUrl}${path}`, { headers: { ...owner.headers, ...(version ? { "A2A-Version": version } : {}) } })).json()) as any

  test("v1.0 clients get a card without v0.3 fields; v0.3 clients a v0.3 card with an http bearer scheme", async () => {
    for (const path of ["/.well-known/agent-card.json", `/agents/${agentId}/.well-known/agent-card.json`]) {
      const v1 = await card(path, "1.0")
      expect(v1.supportedInterfaces[0]).toMatchObject({ protocolBinding: "JSONRPC", protocolVersion: "1.0" })
      for (const field of ["url", "protocolVersion", "preferredTransport", "security"]) expect(v1[field]).toBeUndefined()
      expect(v1.securitySchemes.bearer).toEqual({ httpAuthSecurityScheme: expect.objectContaining({ scheme: "Bearer" }) })
      const v03 = await card(path, "0.3")
      expect(v03).toMatchObject({ protocolVersion: "0.3.0", preferredTransport: "JSONRPC", security: [{ bearer: [] }] })
      expect(v03.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" })
      expect(v03.supportedInterfaces).toBeUndefined()
      // No version asked: v1.0 plus v0.3's endpoint fields, for clients that do not negotiate.
      const either = await card(path)
      expect(either.supportedInterfaces).toBeDefined()
      expect(either.url).toBe(v03.url)
      expect(Object.keys(either.securitySchemes.bearer)).toEqual(["httpAuthSecurityScheme"])
    }
    expect((await rpc("GetExtendedAgentCard", {})).result.url).toBeUndefined()
    expect((await rpc("agent/getAuthenticatedExtendedCard", {})).result.securitySchemes.bearer.type).toBe("http")
  })
})
