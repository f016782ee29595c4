/**
 * A2A SendMessage round trips/s: our platform (JSON-RPC → Agent entity →
 * local echo model, task persisted in SQL) vs the @a2a-js/sdk express
 * reference server (DefaultRequestHandler + InMemoryTaskStore) with an
 * equivalent echo executor. Same client (plain fetch, same JSON-RPC body
 * shape), same concurrency, measured side by side in this run.
 * A2A_BENCH_DATABASE_URL runs our side on a real Postgres instead of the
 * embedded PGlite.
 */
import { AgentEvent, type AgentExecutor, DefaultRequestHandler, InMemoryTaskStore } from "@a2a-js/sdk/server"
import { jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"
import express from "express"
import type { AddressInfo } from "node:net"
import { Option, Redacted } from "effect"
import { signUp } from "../support/auth.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { startPlatform } from "../support/platform.ts"
import type { BenchResult } from "./BenchResult.ts"

const CONCURRENCY = Number(process.env.A2A_BENCH_CONCURRENCY ?? 16)
const REQUESTS = Number(process.env.A2A_BENCH_REQUESTS ?? 400)

const echoExecutor: AgentExecutor = {
  async execute(ctx, bus) {
    const text = ctx.userMessage.parts.map((p) => (p.content?.$case === "text" ? p.content.value : "")).join("")
    const reply = {
      messageId: crypto.randomUUID(),
      contextId: ctx.contextId,
      taskId: ctx.taskId,
      role: 2,
      parts: [{ content: { $case: "text" as const, value: `echo: ${text}` }, metadata: undefined, filename: "", mediaType: "" }],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: []
    }
    bus.publish(AgentEvent.task({
      id: ctx.taskId,
      contextId: ctx.contextId,
      status: { state: 2, message: undefined, timestamp: new Date().toISOString() },
      artifacts: [],
      history: [ctx.userMessage],
      metadata: undefined
    }))
    bus.publish(AgentEvent.statusUpdate({
      taskId: ctx.taskId,
      contextId: ctx.contextId,
      status: { state: 3, message: reply, timestamp: new Date().toISOString() },
      metadata: undefined
    }))
    bus.finished()
  },
  async cancelTask() {}
}

const startReference = async () => {
  const app = express()
  const card = {
    name: "echo",
    description: "echo",
    version: "1.0.0",
    // The handler accepts the A2A-Version the card declares.
    supportedInterfaces: [{ url: "http://127.0.0.1/a2a", protocolBinding: "JSONRPC", protocolVersion: "1.0", tenant: "" }],
    provider: undefined,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [],
    signatures: []
  }
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), echoExecutor)
  app.use("/a2a", jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }))
  const server = app.listen(0, "127.0.0.1")
  await new Promise((r) => server.once("listening", r))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/a2a`, stop: () => new Promise((r) => server.close(r)) }
}

const body = (i: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: i,
    method: "SendMessage",
    params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: `hello ${i}` }] } }
  })

/** REQUESTS SendMessage calls at CONCURRENCY; every answer must be a completed task. */
const measure = async (url: string, headers: Record<string, string>, requests = REQUESTS) => {
  const REQUESTS = requests
  let next = 0
  let failures = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const i = next++
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "a2a-version": "1.0", ...headers }, body: body(i) })
      const json = (await res.json()) as { result?: { task?: { status?: { state?: string } } } }
      if (json.result?.task?.status?.state !== "TASK_STATE_COMPLETED") failures++
    }
  }))
  const seconds = (performance.now() - started) / 1000
  if (failures > 0) throw new Error(`${failures} of ${REQUESTS} calls did not complete`)
  return REQUESTS / seconds
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const pgUrl = process.env.A2A_BENCH_DATABASE_URL
  const db = pgUrl === "auto" ? await createTestDatabase("a2a_bench") : undefined
  const databaseUrl = db?.url ?? (pgUrl && pgUrl !== "auto" ? pgUrl : undefined)
  // The machine's PostgreSQL 15 has no pgvector: RAG is off for this run, agents do not need it.
  const platform = await startPlatform(databaseUrl ? { databaseUrl: Option.some(Redacted.make(databaseUrl)), vectorStore: "disabled" } : {})
  const reference = await startReference()
  try {
    const user = await signUp(platform.baseUrl)
    const created = await fetch(`${platform.baseUrl}/agents`, {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/json" },
      body: JSON.stringify({ projectId: user.projectId, templateId: "echo" })
    })
    const agent = (await created.json()) as { id: string }
    const ours = `${platform.baseUrl}/agents/${agent.id}/a2a`
    // Warm both paths (JIT, connection pools, entity activation).
    await measure(ours, user.headers, CONCURRENCY * 2)
    await measure(reference.url, {}, CONCURRENCY * 10)
    const baseline = await measure(reference.url, {})
    const candidate = await measure(ours, user.headers)
    process.stderr.write(`  a2a: platform ${candidate.toFixed(1)} req/s, reference ${baseline.toFixed(1)} req/s\n`)
    const ratio = candidate / baseline
    return [{
      name: `A2A SendMessage round trips (c=${CONCURRENCY}, n=${REQUESTS}, ${databaseUrl ? "Postgres" : "PGlite"})`,
      candidate: { label: "platform (entity + SQL)", value: candidate, unit: "req/s" },
      baseline: { label: "@a2a-js/sdk express", value: baseline, unit: "req/s" },
      ratio,
      target: ">= 3x",
      met: ratio >= 3
    }]
  } finally {
    await reference.stop()
    await platform.stop()
    await db?.drop()
  }
}
