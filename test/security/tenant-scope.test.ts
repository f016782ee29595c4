import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, Option, Redacted } from "effect"
import { SystemRpcs } from "../../rpc/SystemRpcs.ts"
import { type SignedUp, signUp } from "../support/auth.ts"
import { runLive } from "../support/effect.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { clusterNodeEnv, spawnPlatform, waitFor } from "../support/process.ts"
import { httpProtocol, withRpcClient, wsProtocol } from "../support/rpcClient.ts"

setDefaultTimeout(60_000)

/**
 * Platform-level reads are tenant-scoped: durable jobs belong to a project (another tenant's
 * job id answers 404, the same id in two projects is two jobs), `/observability/health` counts
 * the caller's projects only, and `/metrics` is closed in cluster modes without METRICS_TOKEN.
 */
const METRICS_TOKEN = "metrics-token-for-tests"
let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

beforeAll(async () => {
  platform = await startPlatform({ observability: { metricsToken: Option.some(Redacted.make(METRICS_TOKEN)) } })
  ;[alice, bob] = await Promise.all([signUp(platform.baseUrl), signUp(platform.baseUrl)])
}, 90_000)
afterAll(() => platform?.stop())

const call = (user: SignedUp, method: string, path: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const completed = (user: SignedUp, jobId: string) =>
  waitFor(async () => {
    const res = await call(user, "GET", `/system/jobs/${jobId}`)
    return res.status === 200 && ((await res.json()) as { status: string }).status === "completed"
  }, 15_000)

describe("durable jobs are scoped to projects", () => {
  test("another tenant's job is 404 over REST and RPC; the same id in two projects is two jobs", async () => {
    const jobId = `scoped-${crypto.randomUUID()}`
    expect((await call(alice, "POST", "/system/jobs", { jobId, durationMs: 1 })).status).toBe(202)
    await completed(alice, jobId)
    const mine = (await (await call(alice, "GET", `/system/jobs/${jobId}`)).json()) as { projectId: string; attempts: number }
    expect(mine).toMatchObject({ projectId: alice.projectId, attempts: 1 })

    const theirs = await call(bob, "GET", `/system/jobs/${jobId}`)
    expect(theirs.status).toBe(404)
    expect(await theirs.json()).toMatchObject({ _tag: "NotFound", message: "job not found" })
    expect((await call(bob, "GET", `/system/jobs/${jobId}?projectId=${alice.projectId}`)).status).toBe(404)
    const overRpc = await runLive(
      withRpcClient(SystemRpcs, httpProtocol(`${platform.baseUrl}/rpc`, bob.headers), (client) => Effect.flip(client.GetJob({ jobId })))
    )
    expect(overRpc._tag).toBe("NotFound")

    // Bob's job with the same id runs as his own, and does not touch Alice's.
    expect((await call(bob, "POST", "/system/jobs", { jobId, durationMs: 1 })).status).toBe(202)
    await completed(bob, jobId)
    expect(await (await call(bob, "GET", `/system/jobs/${jobId}`)).json()).toMatchObject({ projectId: bob.projectId, attempts: 1 })
    expect(await (await call(alice, "GET", `/system/jobs/${jobId}`)).json()).toMatchObject({ projectId: alice.projectId, attempts: 1 })

    // Submitting into another tenant's project: 404, as if it did not exist.
    expect((await call(bob, "POST", "/system/jobs", { jobId: "x", durationMs: 1, projectId: alice.projectId })).status).toBe(404)
  })

  test("over a WebSocket (token in the query) a job is submitted into the caller's project", async () => {
    const jobId = `ws-${crypto.randomUUID()}`
    await runLive(
      withRpcClient(SystemRpcs, wsProtocol(`${platform.wsUrl}/rpc/ws?access_token=${bob.token}`), (client) =>
        client.SubmitJob({ jobId, durationMs: 1 }))
    )
    await completed(bob, jobId)
    expect((await call(alice, "GET", `/system/jobs/${jobId}`)).status).toBe(404)
  })

  test("a NUL in a job id sent as a raw RPC WebSocket frame is refused by the schema, the socket keeps working", async () => {
    const ws = new WebSocket(`${platform.wsUrl}/rpc/ws?access_token=${bob.token}`)
    const frames: Array<string> = []
    ws.onmessage = (m) => frames.push(String(m.data))
    await new Promise<void>((resolve) => (ws.onopen = () => resolve()))
    const request = (id: string, tag: string, payload: unknown) =>
      ws.send(JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] }) + "\n")
    request("1", "SubmitJob", { jobId: "a\u0000b", durationMs: 1 })
    request("2", "GetJob", { jobId: "a\u0000b" })
    request("3", "Ping", {})
    await waitFor(async () => frames.join("").includes("pong"), 10_000)
    const text = frames.join("")
    expect(text.match(/must not contain NUL characters/g)?.length).toBe(2)
    ws.close()
  })

  test("a member of several projects names one", async () => {
    const created = await call(alice, "POST", "/projects", { name: "second" })
    expect(created.status).toBe(201)
    // The principal is cached briefly; the new membership shows once it is reloaded.
    await waitFor(async () => {
      const res = await call(alice, "POST", "/system/jobs", { jobId: "which", durationMs: 1 })
      await res.arrayBuffer()
      return res.status === 400
    }, 10_000)
    expect((await call(alice, "POST", "/system/jobs", { jobId: "which", durationMs: 1, projectId: alice.projectId })).status).toBe(202)
  })
})

describe("/observability/health counts the caller's projects only", () => {
  test("a new user sees zero spans and rules even though others have some", async () => {
    const rule = await call(alice, "POST", "/observability/alerts", {
      projectId: alice.projectId,
      name: "errors",
      metric: "http_server_requests_total",
      labels: {},
      aggregation: "increase",
      comparison: "gte",
      threshold: 1_000_000,
      windowSeconds: 60,
      webhookUrl: "https://93.184.216.34/hook"
    })
    expect(rule.status).toBe(201)
    const ingest = await call(alice, "POST", "/observability/traces", {
      projectId: alice.projectId,
      spans: [{ traceId: "a".repeat(32), spanId: "b".repeat(16), service: "s", operation: "op", startTime: new Date().toISOString(), durationMs: 1 }]
    })
    expect(ingest.status).toBe(202)
    type Health = { storedSpans: number; alerts: { rules: number } }
    await waitFor(async () => ((await (await call(alice, "GET", "/observability/health")).json()) as Health).storedSpans >= 1, 10_000)
    const aliceHealth = (await (await call(alice, "GET", "/observability/health")).json()) as Health
    expect(aliceHealth.alerts.rules).toBe(1)

    const carol = await signUp(platform.baseUrl)
    const carolHealth = (await (await call(carol, "GET", "/observability/health")).json()) as Health
    expect(carolHealth.storedSpans).toBe(0)
    expect(carolHealth.alerts.rules).toBe(0)
  })
})

describe("/metrics", () => {
  test("with METRICS_TOKEN: 401 without it or with another, 200 with it", async () => {
    expect((await fetch(`${platform.baseUrl}/metrics`)).status).toBe(401)
    expect((await fetch(`${platform.baseUrl}/metrics`, { headers: { authorization: "Bearer nope" } })).status).toBe(401)
    const ok = await fetch(`${platform.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain("http_server_requests_total")
  })

  test("a cluster runner without METRICS_TOKEN keeps /metrics closed", async () => {
    const db = await createTestDatabase("metrics")
    const runner = await spawnPlatform(
      { ...clusterNodeEnv({ databaseUrl: db.url, jwtSecret: "metrics-test-secret-0123456789abcdef" })(0), CLUSTER_MODE: "runner", SQL_TOOL_SECRET_KEY: "sql-tool-secret-for-tests-0123456789abcdef" },
      "src/runner.ts"
    )
    try {
      const res = await fetch(`${runner.baseUrl}/metrics`)
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ message: "metrics need METRICS_TOKEN in cluster modes" })
    } finally {
      await runner.kill()
      await db.drop()
    }
  }, 120_000)
})
