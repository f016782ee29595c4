import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { FetchHttpClient, Headers, HttpClient, HttpTraceContext } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted, Tracer } from "effect"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import { A2AFlowRecorder } from "../../src/observability/A2AFlows.ts"
import { withLlmSpan, withToolSpan } from "../../src/observability/GenAi.ts"
import { TraceStore } from "../../src/observability/TraceStore.ts"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import { authConfig, type SignedUp, signUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"

const serviceToken = `svc-${crypto.randomUUID()}`
const service = { authorization: `Bearer ${serviceToken}` }
const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")

let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

interface Span {
  traceId: string
  spanId: string
  parentSpanId: string | null
  operation: string
  kind: string | null
  status: string
  durationMs: number
  attributes: Record<string, unknown>
  projectId: string | null
  source: string
}

const getJson = async (path: string, headers: Record<string, string>) => {
  const res = await fetch(`${platform.baseUrl}${path}`, { headers })
  return { status: res.status, body: await res.json() }
}

/** Polls until the trace holds a span named `operation` (spans reach SQL in batches). */
const traceWith = async (traceId: string, operation: string, headers: Record<string, string> = service) => {
  let spans: Array<Span> = []
  await waitFor(async () => {
    const res = await getJson(`/observability/traces/${traceId}`, headers)
    spans = res.status === 200 ? res.body.spans : []
    return spans.some((s) => s.operation === operation)
  }, 20_000)
  return spans
}

beforeAll(async () => {
  platform = await startPlatform({
    auth: authConfig({ serviceToken: Option.some(Redacted.make(serviceToken)) }),
    observability: { traceFlushIntervalMs: 100, alertEvalIntervalMs: 200 },
    // The agent → tool test and the alert webhooks reach local servers: the operator allow-list admits loopback.
    egress: { allow: ["127.0.0.1"] },
    // The agent → tool test fetches from a local server.
    tools: { ...Effect.runSync(ToolsConfig.config), httpFetchAllow: ["127.0.0.1"] }
  })
  alice = await signUp(platform.baseUrl)
  bob = await signUp(platform.baseUrl)
}, 150_000)
afterAll(() => platform?.stop())

describe("traces", () => {
  test("gateway → DurableJob entity → its SQL: one connected trace joined to the caller's traceparent", async () => {
    const traceId = hex(16)
    const callerSpan = hex(8)
    const res = await fetch(`${platform.baseUrl}/system/jobs`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json", traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ jobId: `trace-${traceId}`, durationMs: 1 })
    })
    expect(res.status).toBe(202)
    await traceWith(traceId, "DurableJob.Run")
    // A child ends (and is flushed) before its parent: wait until the tree is complete.
    let spans: Array<Span> = []
    await waitFor(async () => {
      spans = (await getJson(`/observability/traces/${traceId}`, service)).body.spans
      const ids = new Set(spans.map((s) => s.spanId))
      return spans.filter((s) => !ids.has(s.parentSpanId ?? "")).length === 1 &&
        spans.some((s) => s.operation === `DurableJob(${alice.projectId}/trace-${traceId}).Run`) &&
        spans.filter((s) => s.operation === "sql.execute").length >= 2
    }, 20_000)

    expect(spans.every((s) => s.traceId === traceId)).toBe(true)
    const ids = new Set(spans.map((s) => s.spanId))
    // One root in this process: the server span, child of the caller's span.
    const roots = spans.filter((s) => !ids.has(s.parentSpanId ?? ""))
    expect(roots.map((s) => [s.operation, s.parentSpanId])).toEqual([["http.server POST", callerSpan]])
    expect(roots[0].attributes["http.route"]).toBe("/system/jobs")
    expect(roots[0].attributes["request.id"]).toBe(res.headers.get("x-request-id"))

    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const chain = (s: Span): Array<string> => {
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined
      return parent ? [...chain(parent), s.operation] : [s.operation]
    }
    const handler = spans.find((s) => s.operation === "DurableJob.Run")!
    // The entity is addressed by project and job id (jobs are scoped to projects).
    expect(chain(handler)).toEqual(["http.server POST", "DurableJob.client.Run", `DurableJob(${alice.projectId}/trace-${traceId}).Run`, "DurableJob.Run"])
    const sqlUnderHandler = spans.filter((s) => s.operation === "sql.execute" && s.parentSpanId === handler.spanId)
    expect(sqlUnderHandler.length).toBeGreaterThanOrEqual(2)
    // No credentials in stored spans.
    expect(JSON.stringify(spans)).not.toContain(alice.token)

    // A trace without a project is the platform's: not readable by a project member.
    expect((await getJson(`/observability/traces/${traceId}`, alice.headers)).status).toBe(404)
  }, 60_000)

  test("outgoing HTTP carries traceparent: tool span → http.client → tool server → back into the gateway, one trace", async () => {
    const seen: Array<string | null> = []
    const tool = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const traceparent = req.headers.get("traceparent")
        seen.push(traceparent)
        // The "tool" is another service that calls the platform back with the context it received.
        const back = await fetch(`${platform.baseUrl}/observability/health`, {
          headers: { ...alice.headers, ...(traceparent ? { traceparent } : {}) }
        })
        return Response.json({ ok: back.status === 200 })
      }
    })
    try {
      const traceId = hex(16)
      const parent = Tracer.externalSpan({ traceId, spanId: hex(8), sampled: true })
      const result = await platform.runtime.runPromise(
        HttpClient.get(`http://127.0.0.1:${tool.port}/run`).pipe(
          Effect.flatMap((r) => r.json),
          Effect.scoped,
          withToolSpan("weather_lookup", { projectId: alice.projectId }),
          Effect.withParentSpan(parent),
          Effect.provide(FetchHttpClient.layer)
        )
      )
      expect(result).toEqual({ ok: true })
      expect(seen).toHaveLength(1)
      const received = HttpTraceContext.w3c(Headers.fromInput({ traceparent: seen[0] ?? "" }))
      expect(Option.getOrThrow(received).traceId).toBe(traceId)

      const spans = await traceWith(traceId, "http.server GET", alice.headers)
      const toolSpan = spans.find((s) => s.operation === "execute_tool weather_lookup")!
      const client = spans.find((s) => s.kind === "client" && s.parentSpanId === toolSpan.spanId)!
      const server = spans.find((s) => s.operation === "http.server GET")!
      expect(toolSpan.attributes["gen_ai.tool.name"]).toBe("weather_lookup")
      expect(toolSpan.projectId).toBe(alice.projectId)
      expect(client.spanId).toBe(Option.getOrThrow(received).spanId)
      expect(server.parentSpanId).toBe(client.spanId)
      expect(server.attributes["http.route"]).toBe("/observability/health")

      // Bob claims the trace by ingesting a span with its id: he sees his own span only.
      const ingest = await fetch(`${platform.baseUrl}/observability/traces`, {
        method: "POST",
        headers: { ...bob.headers, "content-type": "application/json" },
        body: JSON.stringify({
          projectId: bob.projectId,
          spans: [{ traceId, spanId: hex(8), service: "bob", operation: "claim", startTime: new Date().toISOString(), durationMs: 1 }]
        })
      })
      expect(ingest.status).toBe(202)
      const bobView = await getJson(`/observability/traces/${traceId}`, bob.headers)
      expect(bobView.body.spans.map((s: Span) => s.operation)).toEqual(["claim"])
    } finally {
      tool.stop(true)
    }
  }, 60_000)

  test("ingest validates, and the query filters by service, operation, status, duration and time", async () => {
    const traceId = hex(16)
    const now = Date.now()
    const span = (operation: string, durationMs: number, status: "ok" | "error", offsetMs: number) => ({
      traceId,
      spanId: hex(8),
      service: "billing-agent",
      operation,
      status,
      startTime: new Date(now - offsetMs).toISOString(),
      durationMs,
      attributes: { "gen_ai.request.model": "m-1", retries: 2, tags: ["a", "b"] }
    })
    const post = (body: unknown, headers: Record<string, string> = alice.headers) =>
      fetch(`${platform.baseUrl}/observability/traces`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    const ok = await post({
      projectId: alice.projectId,
      spans: [span("charge", 20, "ok", 60_000), span("charge", 900, "error", 30_000), span("refund", 5, "ok", 10_000)]
    })
    expect(ok.status).toBe(202)
    expect(await ok.json()).toEqual({ accepted: 3 })

    const invalid = await post({ projectId: alice.projectId, spans: [{ ...span("x", 1, "ok", 0), traceId: "not-hex" }] })
    expect(invalid.status).toBe(400)
    expect((await post({ projectId: alice.projectId, spans: [] })).status).toBe(400)
    expect((await post({ projectId: alice.projectId, spans: [{ ...span("x", -1, "ok", 0) }] })).status).toBe(400)
    // Someone else's project does not exist for the caller.
    expect((await post({ projectId: bob.projectId, spans: [span("x", 1, "ok", 0)] })).status).toBe(404)
    expect((await fetch(`${platform.baseUrl}/observability/traces`)).status).toBe(401)

    const q = async (query: string) =>
      (await getJson(`/observability/traces?service=billing-agent&${query}`, alice.headers)).body.spans as Array<Span>
    expect((await q("")).map((s) => s.operation).sort()).toEqual(["charge", "charge", "refund"])
    expect((await q("operation=charge")).length).toBe(2)
    expect((await q("status=error")).map((s) => s.durationMs)).toEqual([900])
    expect((await q("minDurationMs=10&maxDurationMs=100")).map((s) => s.durationMs)).toEqual([20])
    expect((await q(`from=${encodeURIComponent(new Date(now - 45_000).toISOString())}`)).length).toBe(2)
    expect((await q(`to=${encodeURIComponent(new Date(now - 45_000).toISOString())}`)).length).toBe(1)
    const one = (await q(`traceId=${traceId}&operation=refund`))[0]
    expect(one.attributes).toEqual({ "gen_ai.request.model": "m-1", retries: 2, tags: ["a", "b"] })
    expect(one.source).toBe("ingested")
    expect((await getJson(`/observability/traces?service=billing-agent`, bob.headers)).body.spans).toEqual([])
    expect((await getJson(`/observability/traces?projectId=${bob.projectId}`, alice.headers)).status).toBe(404)
    expect((await getJson(`/observability/traces?minDurationMs=abc`, alice.headers)).status).toBe(400)
  }, 60_000)

  test("ingested spans with unpaired surrogates in names, attribute keys and values are stored, as U+FFFD", async () => {
    const traceId = hex(16)
    const span = (operation: string, attributes: Record<string, unknown>) => ({
      traceId,
      spanId: hex(8),
      service: "odd-agent",
      operation,
      startTime: new Date().toISOString(),
      durationMs: 1,
      attributes
    })
    // JSON.stringify writes an unpaired surrogate as a \ud800 escape, which JSON.parse reads back as one.
    const res = await fetch(`${platform.baseUrl}/observability/traces`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body: JSON.stringify({
        projectId: alice.projectId,
        spans: [span("plain", { a: "b" }), span("odd\ud800", { ["k\udc00"]: "v\ud83d", nested: ["x\udfff"] })]
      })
    })
    expect(res.status).toBe(202)
    const spans = (await getJson(`/observability/traces/${traceId}`, alice.headers)).body.spans as Array<Span>
    expect(spans.map((s) => s.operation).sort()).toEqual(["odd\uFFFD", "plain"])
    expect(spans.find((s) => s.operation === "odd\uFFFD")!.attributes).toEqual({ ["k\uFFFD"]: "v\uFFFD", nested: ["x\uFFFD"] })
  }, 60_000)
})

describe("gateway → agent entity → tool", () => {
  test("a delegation through the orchestrator to a platform agent that calls http_fetch is one connected trace", async () => {
    let fetched = 0
    const target = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => {
        fetched++
        return Response.json({ weather: "sunny" })
      }
    })
    try {
      const agent = (name: string, tools: Array<string>) =>
        platform.runtime.runPromise(Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const id = `agent-${crypto.randomUUID()}`
          yield* sql`INSERT INTO agents (id, project_id, name, description, provider, model, system_prompt, tools, created_by)
            VALUES (${id}, ${alice.projectId}, ${name}, ${name}, 'local', 'local', 'Be brief.', ${JSON.stringify(tools)}::jsonb,
              ${alice.userId})`
          return id
        }))
      const planner = await agent("Planner", [])
      const fetcher = await agent("Fetcher", ["http_fetch"])
      const traceId = hex(16)
      const res = await fetch(`${platform.baseUrl}/orchestrator/delegate`, {
        method: "POST",
        headers: { ...alice.headers, "content-type": "application/json", traceparent: `00-${traceId}-${hex(8)}-01` },
        body: JSON.stringify({
          projectId: alice.projectId,
          from: planner,
          to: fetcher,
          text: `Please use http_fetch {"url": "http://127.0.0.1:${target.port}/weather"}`
        })
      })
      const text = await res.text()
      expect(`${res.status} ${text}`).toStartWith("200 ")
      expect(fetched).toBe(1)
      await traceWith(traceId, "ToolRegistry.call", alice.headers)
      // Parents end after their children: wait until the tree hangs from one root.
      let spans: Array<Span> = []
      await waitFor(async () => {
        spans = (await getJson(`/observability/traces/${traceId}`, alice.headers)).body.spans
        const ids = new Set(spans.map((s) => s.spanId))
        return spans.filter((s) => !ids.has(s.parentSpanId ?? "")).length === 1
      }, 20_000)
      const byId = new Map(spans.map((s) => [s.spanId, s]))
      const ancestry = (s: Span): Array<string> => {
        const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined
        return parent ? [...ancestry(parent), s.operation] : [s.operation]
      }
      const tool = spans.find((s) => s.operation === "ToolRegistry.call")!
      expect(tool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "http_fetch" })
      const path = ancestry(tool)
      // From the gateway's server span, through the delivery and the agent entity, down to the tool.
      expect(path[0]).toBe("http.server POST")
      expect(path.some((op) => op.startsWith("Delivery("))).toBe(true)
      expect(path.some((op) => op.startsWith("Agent("))).toBe(true)
      expect(path).toContain("AgentRunner.run")
      expect(path.at(-1)).toBe("ToolRegistry.call")
      // The hop was recorded as an A2A flow of the same trace.
      const graph = (await getJson(`/observability/a2a?agent=${fetcher}`, alice.headers)).body
      expect(graph.edges.some((e: { from: string; to: string }) => e.from === planner && e.to === fetcher)).toBe(true)
    } finally {
      target.stop(true)
    }
  }, 60_000)
})

describe("metrics", () => {
  test("/metrics parses and carries request, LLM, tool, cluster and process metrics", async () => {
    const traceId = hex(16)
    await platform.runtime.runPromise(
      Effect.succeed({ usage: { input: 120, output: 30 } }).pipe(
        withLlmSpan({ system: "openai", model: "gpt-4o-mini", projectId: alice.projectId }, (r) => ({
          inputTokens: r.usage.input,
          outputTokens: r.usage.output,
          costUsd: 0.0042
        })),
        Effect.withParentSpan(Tracer.externalSpan({ traceId, spanId: hex(8), sampled: true }))
      )
    )
    const llm = (await traceWith(traceId, "chat gpt-4o-mini", alice.headers)).find((s) => s.operation === "chat gpt-4o-mini")!
    expect(llm.attributes).toMatchObject({
      "gen_ai.system": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.usage.input_tokens": 120,
      "gen_ai.usage.output_tokens": 30
    })

    const res = await fetch(`${platform.baseUrl}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4")
    const text = await res.text()
    const parsed = parsePrometheusTextFormat(text)
    const families = new Map(parsed.map((f) => [f.name, f]))
    const samples = (name: string) => families.get(name)?.metrics ?? []
    // The parser is lenient about values: check them too.
    for (const f of parsed) {
      for (const m of f.metrics) if (m.value !== undefined) expect(Number.isNaN(Number(m.value.replace("Inf", "Infinity")))).toBe(false)
    }

    const requests = samples("http_server_requests_total")
    expect(families.get("http_server_requests_total")?.type).toBe("COUNTER")
    expect(requests.some((m) => m.labels?.route === "/system/jobs" && m.labels.method === "POST" && m.labels.status === "202")).toBe(true)
    expect(families.get("http_server_request_duration_seconds")?.type).toBe("HISTOGRAM")
    // The parser merges the series of a labelled histogram into one: read this series' count from the text.
    const healthCount = text.split("\n").find((l) =>
      l.startsWith("http_server_request_duration_seconds_count{") && l.includes(`route="/observability/health"`)
    )
    expect(Number(healthCount?.split(" ").at(-1))).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/http_server_request_duration_seconds_bucket\{[^}]*route="\/system\/jobs"[^}]*le="\+Inf"\} \d+/)

    const tokens = samples("llm_tokens_total").filter((m) => m.labels?.model === "gpt-4o-mini")
    expect(tokens.find((m) => m.labels?.type === "input")?.value).toBeDefined()
    expect(Number(tokens.find((m) => m.labels?.type === "input")?.value)).toBeGreaterThanOrEqual(120)
    expect(Number(samples("llm_cost_usd_total").find((m) => m.labels?.model === "gpt-4o-mini")?.value)).toBeGreaterThan(0)
    expect(samples("tool_calls_total").some((m) => m.labels?.tool === "weather_lookup" && m.labels.status === "ok")).toBe(true)

    expect(samples("effect_cluster_entities").some((m) => m.labels?.type === "DurableJob" && m.labels.runner !== undefined)).toBe(true)
    expect(Number(samples("effect_cluster_shards")[0]?.value)).toBeGreaterThan(0)
    expect(Number(samples("process_resident_memory_bytes")[0]?.value)).toBeGreaterThan(10_000_000)
    expect(Number(samples("process_cpu_seconds_total")[0]?.value)).toBeGreaterThan(0)

    // The authenticated copy under /observability.
    expect((await fetch(`${platform.baseUrl}/observability/metrics`)).status).toBe(401)
    const mine = await fetch(`${platform.baseUrl}/observability/metrics`, { headers: alice.headers })
    expect(mine.status).toBe(200)
    expect(parsePrometheusTextFormat(await mine.text()).length).toBeGreaterThan(5)
  }, 60_000)
})

describe("agent-to-agent flows", () => {
  test("recorded hops come back as a graph with counts, latency percentiles and errors, per tenant", async () => {
    // A fresh tenant: the delegation test above recorded hops in Alice's project.
    const carol = await signUp(platform.baseUrl)
    const p = carol.projectId
    await platform.runtime.runPromise(
      Effect.gen(function*() {
        const recorder = yield* A2AFlowRecorder
        for (const ms of [10, 20, 30, 40, 100]) {
          yield* recorder.record({ from: "planner", to: "researcher", method: "SendMessage", durationMs: ms, status: "ok", projectId: p, traceId: null })
        }
        yield* recorder.record({
          from: "planner", to: "researcher", method: "SendMessage", durationMs: 500, status: "error", projectId: p, traceId: null, error: "timeout"
        })
        yield* recorder.record({ from: "researcher", to: "writer", method: "SendMessage", durationMs: 7, status: "ok", projectId: p, traceId: null })
        yield* recorder.record({ from: "x", to: "y", method: "SendMessage", durationMs: 1, status: "ok", projectId: bob.projectId, traceId: null })
      })
    )
    const { status, body } = await getJson(`/observability/a2a`, carol.headers)
    expect(status).toBe(200)
    expect(body.totalMessages).toBe(7)
    const edge = body.edges.find((e: { from: string; to: string }) => e.from === "planner" && e.to === "researcher")
    expect(edge).toMatchObject({ count: 6, errorCount: 1, methods: ["SendMessage"], p50Ms: 35 })
    // Continuous percentile of [10,20,30,40,100,500].
    expect(edge.p95Ms).toBeCloseTo(400, 6)
    const nodes = Object.fromEntries(body.nodes.map((n: { id: string }) => [n.id, n]))
    expect(nodes.planner).toMatchObject({ sent: 6, received: 0 })
    expect(nodes.researcher).toMatchObject({ sent: 1, received: 6, errors: 1 })
    expect(nodes.writer).toMatchObject({ received: 1 })
    expect((await getJson(`/observability/a2a?agent=writer`, carol.headers)).body.totalMessages).toBe(1)
    expect((await getJson(`/observability/a2a`, bob.headers)).body.totalMessages).toBe(1)
  }, 30_000)
})

describe("alerts", () => {
  test("a rule fires on a local webhook once its metric crosses the threshold; CRUD is tenant-scoped", async () => {
    const received: Array<{ status: string; incidentId: string; value: number; rule: { id: string } }> = []
    const webhook = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        received.push(await req.json())
        return new Response(null, { status: 204 })
      }
    })
    try {
      const post = (body: unknown, headers: Record<string, string> = alice.headers) =>
        fetch(`${platform.baseUrl}/observability/alerts`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify(body)
        })
      const rule = {
        projectId: alice.projectId,
        name: "unknown routes",
        metric: "http_server_requests_total",
        labels: { route: "*", status: "404" },
        aggregation: "increase",
        comparison: "gte",
        threshold: 5,
        windowSeconds: 2,
        webhookUrl: `http://127.0.0.1:${webhook.port}/hook`
      }
      expect((await post({ ...rule, webhookUrl: "ftp://example.com" })).status).toBe(400)
      expect((await post({ ...rule, comparison: "approximately" })).status).toBe(400)
      expect((await post({ ...rule, projectId: bob.projectId })).status).toBe(404)
      const created = await post(rule)
      expect(created.status).toBe(201)
      const { id } = await created.json()

      // Once the evaluator has taken its baseline (a state row), cause the incident.
      await waitFor(async () => (await getJson(`/observability/alerts/${id}`, alice.headers)).body.lastValue !== null, 15_000)
      for (let i = 0; i < 6; i++) await fetch(`${platform.baseUrl}/no/such/route/${i}`)
      await waitFor(() => received.some((n) => n.status === "firing"), 15_000)
      const firing = await getJson(`/observability/alerts/${id}`, alice.headers)
      expect(firing.body).toMatchObject({ state: "firing" })
      expect(firing.body.incidentId).toBe(received[0].incidentId)
      expect(received[0].rule.id).toBe(id)
      expect(received[0].value).toBeGreaterThanOrEqual(5)
      // A misspelt metric would never fire: 400 naming it.
      const unknown = await post({ ...rule, metric: "http_server_request_total" })
      expect(unknown.status).toBe(400)
      expect((await unknown.json()).message).toContain("unknown metric http_server_request_total")
      // Declared metrics are accepted before they have counted anything.
      const declared = await post({ ...rule, name: "declared", metric: "alert_notifications_total", enabled: false })
      expect(declared.status).toBe(201)
      await fetch(`${platform.baseUrl}/observability/alerts/${(await declared.json()).id}`, { method: "DELETE", headers: alice.headers })
      // Resolution as the window empties, and no repeated notification, run on the TestClock
      // in alerts.test.ts: here they would cost the window in real time.

      // CRUD.
      expect((await getJson(`/observability/alerts/${id}`, bob.headers)).status).toBe(404)
      expect((await getJson(`/observability/alerts`, bob.headers)).body.rules).toEqual([])
      expect((await getJson(`/observability/alerts`, alice.headers)).body.rules.map((r: { id: string }) => r.id)).toEqual([id])
      const patch = await fetch(`${platform.baseUrl}/observability/alerts/${id}`, {
        method: "PATCH",
        headers: { ...alice.headers, "content-type": "application/json" },
        body: JSON.stringify({ threshold: 50, enabled: false })
      })
      expect(patch.status).toBe(200)
      expect(await patch.json()).toMatchObject({ threshold: 50, enabled: false, name: "unknown routes" })
      const health = await getJson(`/observability/health`, alice.headers)
      expect(health.body).toMatchObject({ status: "ok", otlpExport: false })
      expect(health.body.storedSpans).toBeGreaterThan(0)
      expect((await fetch(`${platform.baseUrl}/observability/alerts/${id}`, { method: "DELETE", headers: bob.headers })).status).toBe(404)
      expect((await fetch(`${platform.baseUrl}/observability/alerts/${id}`, { method: "DELETE", headers: alice.headers })).status).toBe(204)
      expect((await getJson(`/observability/alerts/${id}`, alice.headers)).status).toBe(404)
    } finally {
      webhook.stop(true)
    }
  }, 60_000)
})

describe("alerts count from the rule's creation", () => {
  test("requests made right after creation, before the evaluator's first tick, count towards increase", async () => {
    const received: Array<{ status: string }> = []
    const webhook = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        received.push(await req.json())
        return new Response(null, { status: 204 })
      }
    })
    try {
      const marker = crypto.randomUUID().slice(0, 8)
      const created = await fetch(`${platform.baseUrl}/observability/alerts`, {
        method: "POST",
        headers: { ...alice.headers, "content-type": "application/json" },
        body: JSON.stringify({
          projectId: alice.projectId,
          name: `early ${marker}`,
          metric: "http_server_requests_total",
          labels: { route: "*", status: "404" },
          aggregation: "increase",
          comparison: "gte",
          threshold: 5,
          windowSeconds: 30,
          webhookUrl: `http://127.0.0.1:${webhook.port}/hook`
        })
      })
      expect(created.status).toBe(201)
      const { id } = await created.json()
      // At once: the evaluator ticks every 200 ms, so these land before its first look at the rule.
      await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${platform.baseUrl}/no/such/${marker}/${i}`)))
      await waitFor(() => received.some((n) => n.status === "firing"), 15_000)
      expect((await getJson(`/observability/alerts/${id}`, alice.headers)).body.lastValue).toBeGreaterThanOrEqual(6)
      await fetch(`${platform.baseUrl}/observability/alerts/${id}`, { method: "DELETE", headers: alice.headers })
    } finally {
      webhook.stop(true)
    }
  }, 60_000)
})

describe("retention", () => {
  test("pruning drops spans past the max age, then all but the newest max rows", async () => {
    const traceId = hex(16)
    const old = new Date(Date.now() - 100 * 3_600_000).toISOString()
    const res = await fetch(`${platform.baseUrl}/observability/traces`, {
      method: "POST",
      headers: { ...alice.headers, "content-type": "application/json" },
      body: JSON.stringify({
        projectId: alice.projectId,
        spans: Array.from({ length: 5 }, () => ({ traceId, spanId: hex(8), service: "old", operation: "stale", startTime: old, durationMs: 1 }))
      })
    })
    expect(res.status).toBe(202)
    const pruned = await platform.runtime.runPromise(Effect.flatMap(TraceStore, (store) => store.prune(1_000_000, 72)))
    expect(pruned).toBeGreaterThanOrEqual(5)
    expect((await getJson(`/observability/traces?service=old`, alice.headers)).body.spans).toEqual([])

    await platform.runtime.runPromise(Effect.flatMap(TraceStore, (store) => store.prune(3, 72)))
    const left = await platform.runtime.runPromise(Effect.flatMap(TraceStore, (store) => store.count))
    // The writer may have flushed a few more spans between the prune and the count.
    expect(left).toBeGreaterThanOrEqual(3)
    expect(left).toBeLessThan(50)
  }, 30_000)
})
