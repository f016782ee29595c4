import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/**
 * The HTTP edge answers hostile bodies with a short 4xx before any handler: a NUL character in
 * any JSON field (Postgres text cannot hold it: each of these was an HTTP 500), arrays nested
 * 100k deep (a stack overflow), a multipart or form body on a JSON route.
 */
let platform: TestPlatform
let alice: SignedUp
let agentId: string
let workflowId: string
beforeAll(async () => {
  platform = await startPlatform()
  alice = await signUp(platform.baseUrl)
  const agent = await send("POST", "/agents", { projectId: alice.projectId, name: "edge", systemPrompt: "be brief" })
  agentId = ((await agent.json()) as { id: string }).id
  const workflow = await send("POST", "/workflows", { projectId: alice.projectId, name: "edge", definition: { steps: [] } })
  workflowId = ((await workflow.json()) as { id: string }).id
}, 60_000)
afterAll(() => platform?.stop())

const send = (method: string, path: string, body: unknown, contentType = "application/json") =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...alice.headers, "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const NUL = "a\u0000b"

/** [label, method, path, a valid body with one field set to NUL]; ids are filled once they exist. */
const nulCases = (): Array<[string, string, string, unknown]> => {
  const p = alice.projectId
  return [
    ["agent name", "POST", "/agents", { projectId: p, name: NUL, systemPrompt: "x" }],
    ["agent system prompt", "POST", "/agents", { projectId: p, name: "n", systemPrompt: NUL }],
    ["agent update description", "PUT", `/agents/${agentId}`, { description: NUL }],
    ["agent execute task", "POST", `/agents/${agentId}/execute`, { task: NUL }],
    ["workflow name", "POST", "/workflows", { projectId: p, name: NUL, definition: { steps: [] } }],
    ["workflow step", "POST", "/workflows", { projectId: p, name: "w", definition: { steps: [{ id: NUL, type: "transform", value: 1 }] } }],
    ["workflow update", "PUT", `/workflows/${workflowId}`, { description: NUL, definition: { steps: [] } }],
    ["workflow execute input", "POST", `/workflows/${workflowId}/execute`, { input: { x: NUL } }],
    ["http tool description", "POST", "/tools", { projectId: p, name: "t", description: NUL, inputSchema: {}, url: "http://127.0.0.1:1/x" }],
    ["http tool header", "POST", "/tools", { projectId: p, name: "t", inputSchema: {}, url: "http://127.0.0.1:1/x", headers: { h: NUL } }],
    ["tool arguments", "POST", "/tools/http_fetch/execute", { projectId: p, arguments: { url: NUL } }],
    ["MCP env", "POST", "/tools/mcp/register", { projectId: p, name: "m", transport: { type: "stdio", command: "bun", args: [], env: { K: NUL } } }],
    ["SQL connection name", "POST", "/sql/connections", { projectId: p, name: NUL, connectionString: "sqlite::memory:" }],
    ["SQL query", "POST", "/sql/execute", { projectId: p, connectionId: "c", query: `select '${NUL}'` }],
    ["alert name", "POST", "/observability/alerts", { projectId: p, name: NUL, metric: "m", aggregation: "increase", comparison: "gte", threshold: 1, windowSeconds: 60 }],
    ["span operation", "POST", "/observability/traces", { projectId: p, spans: [{ traceId: "0".repeat(32), spanId: "1".repeat(16), service: "s", operation: NUL, startTime: new Date().toISOString(), durationMs: 1 }] }],
    ["orchestrator text", "POST", "/orchestrator/message", { projectId: p, to: agentId, text: NUL }],
    ["job id", "POST", "/system/jobs", { jobId: NUL, durationMs: 1 }],
    ["RAG query", "POST", "/rag/query", { projectId: p, query: NUL }],
    ["project name", "POST", "/projects", { name: NUL }],
    ["A2A message text", "POST", "/a2a", { jsonrpc: "2.0", id: 1, method: "message/send", params: { message: { kind: "message", role: "user", messageId: "m", parts: [{ kind: "text", text: NUL }] } } }],
    ["a key", "POST", "/agents", { projectId: p, name: "n", [NUL]: 1 }]
  ]
}

describe("NUL characters in JSON bodies", () => {
  test("each field answers 400 with a short message, never 500", async () => {
    const answers: Array<string> = []
    for (const [label, method, path, body] of nulCases()) {
      const res = await send(method, path, body)
      const json = (await res.json()) as { message: string }
      answers.push(`${label}: ${res.status} ${json.message}`)
    }
    expect(answers).toEqual(
      nulCases().map(([label]) => `${label}: 400 NUL characters (\\u0000) are not allowed in the request body`)
    )
  }, 60_000)

  test("the raw character, a form body's %00 and the URL are refused too; an escaped backslash is not NUL", async () => {
    const raw = await send("POST", "/agents", `{"projectId":"${alice.projectId}","name":"a\u0000b"}`)
    expect(raw.status).toBe(400)
    const textPlain = await send("POST", "/system/jobs", "jobId=a%00b&durationMs=1", "text/plain")
    expect(textPlain.status).toBe(400)
    expect((await fetch(`${platform.baseUrl}/system/jobs/a%00b`, { headers: alice.headers })).status).toBe(400)
    // `\\u0000` is a backslash followed by text: a valid name.
    const escaped = await send("POST", "/agents", { projectId: alice.projectId, name: "a\\u0000b", systemPrompt: "x" })
    expect(escaped.status).toBe(201)
  })

  test("the platform's MCP endpoint (its SDK reads the body itself) refuses NUL the same way", async () => {
    const res = await fetch(`${platform.baseUrl}/mcp?projectId=${alice.projectId}`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: NUL } })
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { message: string }).message).toBe("NUL characters (\\u0000) are not allowed in the request body")
    const ok = await fetch(`${platform.baseUrl}/mcp?projectId=${alice.projectId}`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
    })
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { result: { tools: Array<unknown> } }).result.tools.length).toBeGreaterThan(0)
  })

  test("RAG metadata in a multipart form: 400", async () => {
    const form = new FormData()
    form.append("projectId", alice.projectId)
    form.append("file", new Blob(["hello"], { type: "text/plain" }), "a.txt")
    form.append("metadata", JSON.stringify({ source: NUL }))
    const res = await fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: alice.headers, body: form })
    expect(res.status).toBe(400)
    expect(JSON.stringify(await res.json())).toContain("NUL characters")
  })
})

describe("nesting, content types and messages", () => {
  test("arrays nested 100k deep: 400 at once, the event loop never stalls 100 ms", async () => {
    let last = performance.now()
    let worstGap = 0
    const ticker = setInterval(() => {
      const now = performance.now()
      worstGap = Math.max(worstGap, now - last)
      last = now
    }, 5)
    const started = performance.now()
    const res = await send("POST", "/agents", "[".repeat(100_000) + "]".repeat(100_000))
    const body = (await res.json()) as { message: string }
    const deepObject = await send("POST", "/workflows", "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000))
    const elapsed = performance.now() - started
    clearInterval(ticker)
    expect(res.status).toBe(400)
    expect(body.message).toBe("the request body is nested deeper than 64 levels")
    expect(deepObject.status).toBe(400)
    expect(elapsed).toBeLessThan(2000)
    expect(worstGap).toBeLessThan(100)
  })

  test("a multipart or form body on a JSON route: 415; on the upload route it is still read", async () => {
    const form = new FormData()
    form.append("jobId", "j")
    form.append("file", new Blob(["x"]), "x.txt")
    const multipart = await fetch(`${platform.baseUrl}/system/jobs`, { method: "POST", headers: alice.headers, body: form })
    expect(multipart.status).toBe(415)
    expect(((await multipart.json()) as { message: string }).message).toBe("this endpoint takes an application/json body")
    const urlEncoded = await send("POST", "/agents", `projectId=${alice.projectId}&name=a%00b`, "application/x-www-form-urlencoded")
    expect(urlEncoded.status).toBe(415)
    const upload = new FormData()
    upload.append("projectId", alice.projectId)
    upload.append("file", new Blob(["hello edge"], { type: "text/plain" }), "edge.txt")
    expect((await fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: alice.headers, body: upload })).status).toBe(202)
  })

  test("a schema failure answers a short message naming the field", async () => {
    const res = await send("POST", "/agents", { projectId: alice.projectId, name: "x".repeat(500), systemPrompt: "x" })
    expect(res.status).toBe(400)
    const body = (await res.json()) as { _tag: string; message: string; issues: Array<{ path: Array<string> }> }
    expect(body._tag).toBe("HttpApiDecodeError")
    expect(body.message.length).toBeLessThanOrEqual(200)
    expect(body.message.startsWith("name: ")).toBe(true)
    expect(body.issues[0].path).toEqual(["name"])
  })
})
