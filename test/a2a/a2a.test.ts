import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from "@a2a-js/sdk/client"
import { LegacyJsonRpcTransport } from "@a2a-js/sdk/compat/v0_3/client"
import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startFakeOpenAi } from "../support/fakeProviders/openai.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

const fake = startFakeOpenAi()
let platform: TestPlatform
let owner: SignedUp
let agentId: string

beforeAll(async () => {
  // LlmConfig reads the environment when the platform starts; restore it right after.
  const saved = process.env.OPENAI_BASE_URL
  process.env.OPENAI_BASE_URL = fake.baseUrl
  try {
    platform = await startPlatform()
  } finally {
    if (saved === undefined) delete process.env.OPENAI_BASE_URL
    else process.env.OPENAI_BASE_URL = saved
  }
  owner = await signUp(platform.baseUrl)
  const res = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...owner.headers, "content-type": "application/json" },
    body: JSON.stringify({
      projectId: owner.projectId,
      name: "Streamer",
      description: "talks through the fake OpenAI",
      provider: "openai",
      model: "gpt-4o-mini",
      skills: [{ id: "talk", name: "Talk", description: "Talks" }]
    })
  })
  expect(res.status).toBe(201)
  agentId = ((await res.json()) as { id: string }).id
}, 240_000)
afterAll(async () => {
  await platform?.stop()
  fake.stop()
})

const authedFetch: typeof fetch = Object.assign(
  (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...owner.headers } }),
  { preconnect: fetch.preconnect }
)

const v1Client = () =>
  new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl: authedFetch })
  })).createFromUrl(`${platform.baseUrl}/agents/${agentId}/`)

const legacy = () => new LegacyJsonRpcTransport({ endpoint: `${platform.baseUrl}/agents/${agentId}/a2a`, fetchImpl: authedFetch })

const message = (text: string): any => ({
  messageId: crypto.randomUUID(),
  role: 1,
  parts: [{ content: { $case: "text", value: text } }],
  contextId: "",
  taskId: "",
  metadata: undefined,
  extensions: [],
  referenceTaskIds: []
})
const textOfParts = (parts: Array<any> | undefined) => (parts ?? []).map((p) => p.content?.value ?? "").join("")
const rpc = async (body: unknown, path = `/agents/${agentId}/a2a`) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method: "POST",
    headers: { ...owner.headers, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })
  return { status: res.status, body: (await res.json()) as any }
}
/** A new echo agent in the owner's project; its id. */
const createEchoAgent = async (name: string) => {
  const created = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...owner.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: owner.projectId, name, templateId: "echo" })
  })
  return ((await created.json()) as { id: string }).id
}
/** A SendMessage to agent `id`, blocking unless `returnImmediately`. */
const sendTo = (id: string, returnImmediately = false) =>
  rpc({
    jsonrpc: "2.0",
    id: 1,
    method: "SendMessage",
    params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: "hi" }] }, configuration: { returnImmediately } }
  }, `/agents/${id}/a2a`)

describe("A2A v1.0 through @a2a-js/sdk ClientFactory", () => {
  test("cards: platform card is public, the agent card lists the agent's skills and both protocol versions", async () => {
    const platformCard = await (await fetch(`${platform.baseUrl}/.well-known/agent-card.json`)).json() as any
    expect(platformCard.supportedInterfaces[0]).toMatchObject({ url: `${platform.baseUrl}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" })
    const anonymous = await fetch(`${platform.baseUrl}/agents/${agentId}/.well-known/agent-card.json`)
    expect(anonymous.status).toBe(401)
    const card = await (await authedFetch(`${platform.baseUrl}/agents/${agentId}/.well-known/agent-card.json`)).json() as any
    expect(card.name).toBe("Streamer")
    expect(card.skills.map((s: any) => s.id)).toEqual(["talk"])
    expect(card.supportedInterfaces.map((i: any) => i.protocolVersion)).toEqual(["1.0", "0.3"])
    const stranger = await signUp(platform.baseUrl)
    const other = await fetch(`${platform.baseUrl}/agents/${agentId}/.well-known/agent-card.json`, { headers: stranger.headers })
    expect(other.status).toBe(404)
  })

  test("an agent renamed or deleted through the API is what the next A2A call sees (the edge's agent reads are cached)", async () => {
    const id = await createEchoAgent("Before")
    const card = () => authedFetch(`${platform.baseUrl}/agents/${id}/.well-known/agent-card.json`)
    const send = () => sendTo(id)
    expect(((await (await card()).json()) as any).name).toBe("Before")
    expect((await send()).body.result.task.status.state).toBe("TASK_STATE_COMPLETED")
    const renamed = await authedFetch(`${platform.baseUrl}/agents/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "After" })
    })
    expect(renamed.status).toBe(200)
    expect(((await (await card()).json()) as any).name).toBe("After")
    expect((await authedFetch(`${platform.baseUrl}/agents/${id}`, { method: "DELETE" })).status).toBe(204)
    expect((await card()).status).toBe(404)
    expect((await send()).status).toBe(404)
  })

  test("an agent deleted where this node did not see it (another node, its event not yet here) answers invalid params, not a server error", async () => {
    const id = await createEchoAgent("Vanishing")
    // Read (and kept) by this node's gateway.
    expect((await sendTo(id)).body.result.task.status.state).toBe("TASK_STATE_COMPLETED")
    await platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM agents WHERE id = ${id}`))
    for (const returnImmediately of [true, false]) {
      const answer = await sendTo(id, returnImmediately)
      expect(answer.status).toBe(200)
      expect(answer.body.error).toMatchObject({ code: -32602, message: `Invalid params: no agent ${id}` })
    }
  })

  test("send → completed task; get and list see it; cancel of a finished task is -32002", async () => {
    fake.script({ kind: "text", text: "Hello from the fake OpenAI model" })
    const client = await v1Client()
    const result: any = await client.sendMessage({ message: message("hi there") } as any)
    expect(result.status.state).toBe(3) // TASK_STATE_COMPLETED
    expect(textOfParts(result.status.message.parts)).toBe("Hello from the fake OpenAI model")
    expect(result.history.map((m: any) => m.role)).toEqual([1, 2])
    const got: any = await client.getTask({ id: result.id, historyLength: 1 } as any)
    expect(got.history.length).toBe(1)
    // status 0 (UNSPECIFIED, "any"): a partial request object would be sent as "UNRECOGNIZED", an invalid state.
    const listed: any = await client.listTasks({ pageSize: 10, status: 0 } as any)
    expect(listed.tasks.some((t: any) => t.id === result.id)).toBe(true)
    const err: any = await client.cancelTask({ id: result.id } as any).catch((e) => e)
    expect(err.constructor.name).toBe("JsonRpcTaskNotCancelableError")
    const missing: any = await client.getTask({ id: "nope" } as any).catch((e) => e)
    expect(missing.constructor.name).toBe("JsonRpcTaskNotFoundError")
    // A finished task takes no more messages: the context continues with a new task.
    const more: any = await client.sendMessage({ message: { ...message("more"), taskId: result.id } } as any).catch((e) => e)
    expect(more.constructor.name).toBe("JsonRpcUnsupportedOperationError")
  })

  test("a blocking send's task ends in the transaction that stores its reply, and answers what GetTask reads", async () => {
    fake.script({ kind: "text", text: "ended with the reply" })
    const sent = await rpc({
      jsonrpc: "2.0",
      id: 1,
      method: "SendMessage",
      params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: "end with it" }] }, metadata: { tag: "x" } }
    })
    const task = sent.body.result.task
    expect(task.status.state).toBe("TASK_STATE_COMPLETED")
    // The answer was built without reading the task back: it must be what a read gives.
    const got = await rpc({ jsonrpc: "2.0", id: 2, method: "GetTask", params: { id: task.id } })
    expect(got.body.result).toEqual(task)
    const [row] = await platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ task: string; reply: string; runs: number; messages: number }>`
        SELECT t.xmin::text AS task, r.xmin::text AS reply,
               (SELECT count(*)::int FROM agent_runs WHERE task_id = t.id) AS runs,
               (SELECT count(*)::int FROM agent_messages WHERE task_id = t.id) AS messages
        FROM agent_tasks t
        JOIN cluster_messages m ON m.message_id = 'Agent/' || t.agent_id || '/Execute/' || t.id
        JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
        WHERE t.id = ${task.id}`))
    expect(row).toMatchObject({ runs: 1, messages: 2 })
    expect(row.task).toBe(row.reply)
  })

  test("stream: task, token chunks, final status; resubscribe after dropping the stream gets the rest", async () => {
    fake.script({ kind: "text", text: "one two three four five six seven eight", chunkDelayMs: 150 })
    const client = await v1Client()
    let taskId = ""
    const firstEvents: Array<string> = []
    for await (const ev of client.sendMessageStream({ message: message("count for me") } as any) as AsyncGenerator<any>) {
      firstEvents.push(ev.payload.$case)
      if (ev.payload.$case === "task") taskId = ev.payload.value.id
      // Drop the connection after the first token, like a client that lost its network.
      if (ev.payload.$case === "artifactUpdate") break
    }
    expect(firstEvents[0]).toBe("task")
    const rest: Array<any> = []
    for await (const ev of client.resubscribeTask({ id: taskId } as any) as AsyncGenerator<any>) rest.push(ev.payload)
    expect(rest[0].$case).toBe("task")
    const last = rest[rest.length - 1]
    expect(last.$case).toBe("statusUpdate")
    expect(last.value.status.state).toBe(3)
    expect(textOfParts(last.value.status.message.parts)).toBe("one two three four five six seven eight")
  })

  test("cancel a running task", async () => {
    fake.script({ kind: "delay", ms: 5_000, then: { kind: "text", text: "too late" } })
    const client = await v1Client()
    const submitted: any = await client.sendMessage({ message: message("slow one"), configuration: { returnImmediately: true } } as any)
    expect([1, 2]).toContain(submitted.status.state)
    await Bun.sleep(300)
    const canceled: any = await client.cancelTask({ id: submitted.id } as any)
    expect(canceled.status.state).toBe(5) // TASK_STATE_CANCELED
  })
})

describe("A2A v0.3 through the SDK's legacy transport", () => {
  test("message/send, tasks/get, message/stream, tasks/cancel, tasks/resubscribe", async () => {
    fake.script({ kind: "text", text: "legacy hello" })
    const t = legacy()
    const sent: any = await t.sendMessage({ message: message("v0.3 hi") } as any)
    expect(sent.status.state).toBe(3)
    expect(textOfParts(sent.status.message.parts)).toBe("legacy hello")
    const got: any = await t.getTask({ id: sent.id } as any)
    expect(got.id).toBe(sent.id)
    fake.script({ kind: "text", text: "a b c d e f", chunkDelayMs: 150 })
    let taskId = ""
    for await (const ev of t.sendMessageStream({ message: message("stream v0.3") } as any) as AsyncGenerator<any>) {
      if (ev.payload.$case === "task") taskId = ev.payload.value.id
      if (ev.payload.$case === "artifactUpdate") break
    }
    const rest: Array<any> = []
    for await (const ev of t.resubscribeTask({ id: taskId } as any) as AsyncGenerator<any>) rest.push(ev.payload)
    expect(rest[rest.length - 1].value.status.state).toBe(3)
    fake.script({ kind: "delay", ms: 5_000, then: { kind: "text", text: "never" } })
    const pending: any = await t.sendMessage({ message: message("slow"), configuration: { returnImmediately: true } } as any)
    await Bun.sleep(300)
    const canceled: any = await t.cancelTask({ id: pending.id } as any)
    expect(canceled.status.state).toBe(5)
    const err: any = await t.cancelTask({ id: pending.id } as any).catch((e) => e)
    expect(err.constructor.name).toBe("JsonRpcTaskNotCancelableError")
  })
})

describe("JSON-RPC envelope and seed methods", () => {
  test("parse error, invalid request, unknown method, invalid params", async () => {
    expect((await rpc("{not json")).body.error.code).toBe(-32700)
    expect((await rpc({ jsonrpc: "1.0", id: 1, method: "GetTask" })).body.error.code).toBe(-32600)
    expect((await rpc([{ jsonrpc: "2.0", id: 1, method: "GetTask" }])).body.error.code).toBe(-32600)
    const unknown = await rpc({ jsonrpc: "2.0", id: "req-1", method: "nope/nope", params: {} })
    expect(unknown.body).toMatchObject({ jsonrpc: "2.0", id: "req-1", error: { code: -32601 } })
    const invalid = await rpc({ jsonrpc: "2.0", id: 2, method: "SendMessage", params: { message: { role: "ROLE_USER" } } })
    expect(invalid.body.error.code).toBe(-32602)
    expect(invalid.body.error.data.length).toBeGreaterThan(0)
    const notFound = await rpc({ jsonrpc: "2.0", id: 3, method: "tasks/get", params: { id: "missing" } })
    expect(notFound.body.error.code).toBe(-32001)
    const send = (taskId: string) =>
      rpc({
        jsonrpc: "2.0",
        id: 4,
        method: "SendMessage",
        params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", taskId, parts: [{ text: "go on" }] } }
      })
    const unknownTask = await send("missing")
    expect(unknownTask.body.error).toMatchObject({ code: -32001, message: "Task not found: missing" })
    expect(unknownTask.body.error.data[0].reason).toBe("TASK_NOT_FOUND")
  })

  test("the seed's execute_task and get_capabilities, also on POST /a2a/message", async () => {
    fake.script({ kind: "text", text: "seed answer" })
    const executed = await rpc({
      jsonrpc: "2.0",
      id: "req-456",
      method: "execute_task",
      params: { task: "analyze_document", context: { document_id: "123", agentId }, requirements: ["summarization"] }
    }, "/a2a/message")
    expect(executed.body.id).toBe("req-456")
    expect(executed.body.result).toMatchObject({ status: "completed", result: "seed answer" })
    const caps = await rpc({ jsonrpc: "2.0", id: 7, method: "get_capabilities" })
    expect(caps.body.result.agentId).toBe(agentId)
    expect(caps.body.result.capabilities[0].name).toBe("talk")
    const anonymous = await fetch(`${platform.baseUrl}/a2a`, { method: "POST", body: "{}" })
    expect(anonymous.status).toBe(401)
  })

  test("runs record tokens and cost of the provider", async () => {
    const runs = await (await fetch(`${platform.baseUrl}/agents/${agentId}/runs`, { headers: owner.headers })).json() as Array<any>
    const completed = runs.filter((r) => r.status === "completed")
    expect(completed.length).toBeGreaterThan(0)
    expect(completed[0]).toMatchObject({ provider: "openai", model: "gpt-4o-mini", inputTokens: 11, outputTokens: 7 })
    expect(completed[0].costUsd).toBeCloseTo((11 * 0.15 + 7 * 0.6) / 1_000_000, 12)
    expect(runs.some((r) => r.status === "canceled")).toBe(true)
  })
})

describe("A2A flow records (the a2a_flows store behind GET /observability/a2a)", () => {
  interface FlowRow {
    readonly method: string
    readonly status: string
    readonly error: string | null
    readonly traceId: string | null
  }
  const flowsFrom = (caller: string) =>
    platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<FlowRow>`SELECT method, status, error, trace_id FROM a2a_flows WHERE from_agent = ${caller}`))
  const streamRequest = (caller: string, params: unknown, signal?: AbortSignal) =>
    fetch(`${platform.baseUrl}/agents/${agentId}/a2a`, {
      method: "POST",
      headers: { ...owner.headers, "content-type": "application/json", "x-a2a-caller": caller },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendStreamingMessage", params }),
      ...(signal ? { signal } : {})
    })
  const v1Message = (text: string, taskId?: string) => ({
    message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text }], ...(taskId ? { taskId } : {}) }
  })

  test("a stream failing before its first event is one record: error outcome, its message, the request's trace id", async () => {
    const caller = `flow-test-${crypto.randomUUID()}`
    const res = await streamRequest(caller, v1Message("go on", "missing"))
    // A typed JSON-RPC error before any stream opens (issue #21), as the SDKs' own servers answer.
    expect(res.headers.get("content-type")).toContain("application/json")
    const frame = (await res.json()) as { error: { code: number } }
    expect(frame.error.code).toBe(-32001)
    await waitFor(async () => (await flowsFrom(caller)).length > 0, 10_000)
    // Give a second (duplicate) record time to land before counting.
    await Bun.sleep(200)
    const rows = await flowsFrom(caller)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ method: "SendStreamingMessage", status: "error", error: "Task not found: missing" })
    expect(rows[0].traceId).toMatch(/^[0-9a-f]{32}$/)
  })

  test("a completed stream is one ok record; a client that drops the stream is recorded as cancelled", async () => {
    const completed = `flow-test-${crypto.randomUUID()}`
    fake.script({ kind: "text", text: "all of it" })
    await (await streamRequest(completed, v1Message("whole stream"))).text()
    await waitFor(async () => (await flowsFrom(completed)).length > 0, 10_000)
    await Bun.sleep(200)
    expect((await flowsFrom(completed)).map((r) => r.status)).toEqual(["ok"])

    const dropped = `flow-test-${crypto.randomUUID()}`
    fake.script({ kind: "delay", ms: 3_000, then: { kind: "text", text: "nobody listens" } })
    const abort = new AbortController()
    const res = await streamRequest(dropped, v1Message("slow stream"), abort.signal)
    const reader = res.body!.getReader()
    await reader.read()
    abort.abort()
    await waitFor(async () => (await flowsFrom(dropped)).length > 0, 10_000)
    await Bun.sleep(200)
    expect((await flowsFrom(dropped)).map((r) => r.status)).toEqual(["cancelled"])

    // The same for a blocking send whose caller hangs up before the answer.
    const hungUp = `flow-test-${crypto.randomUUID()}`
    fake.script({ kind: "delay", ms: 3_000, then: { kind: "text", text: "nobody waits" } })
    // The dropped stream's task may still be working (its run goes on): wait for a NEW working
    // task, or the caller could hang up before its request reached the handler.
    const workingTasks = () =>
      platform.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ id: string }>`SELECT id FROM agent_tasks WHERE agent_id = ${agentId} AND state = 'working'`))
    const workingBefore = new Set((await workingTasks()).map((r) => r.id))
    const blocking = new AbortController()
    const pending = fetch(`${platform.baseUrl}/agents/${agentId}/a2a`, {
      method: "POST",
      headers: { ...owner.headers, "content-type": "application/json", "x-a2a-caller": hungUp },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "SendMessage", params: v1Message("slow send") }),
      signal: blocking.signal
    }).catch((e) => e)
    await waitFor(async () => (await workingTasks()).some((r) => !workingBefore.has(r.id)), 10_000)
    blocking.abort()
    expect((await pending).name).toBe("AbortError")
    await waitFor(async () => (await flowsFrom(hungUp)).length > 0, 10_000)
    await Bun.sleep(200)
    expect((await flowsFrom(hungUp)).map((r) => r.status)).toEqual(["cancelled"])
  }, 30_000)
})
