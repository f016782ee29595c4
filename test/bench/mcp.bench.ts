/**
 * A tool call through the McpSession entity (cluster client → sharding →
 * entity → SDK client → server) against the same call made with the SDK
 * client directly, on the same MCP server program, side by side in one run.
 * Rounds alternate which side goes first so drift on a shared machine
 * affects both; the reported figure is the median round.
 *
 * Where the entity's extra time goes, profiled with the MCP server in-process
 * (InMemoryTransport, so every µs is CPU here; warm, 2-core machine under
 * load): the SDK call alone 13-18 µs, through McpConnection 22-39 µs, an
 * entity round trip with no work (Status) 66-114 µs, CallTool through the
 * entity 128-166 µs. Self time on that path: Effect's fiber runtime 61%
 * (running the cluster's and RPC's per-message programs: client, sharding,
 * entity manager, RPC server span and request fiber), built-ins 18%, zod (SDK
 * message validation) 11%, SDK 3.5%, @effect/cluster 3.3%, @effect/rpc 2%,
 * this repository's code 1.7%. Calls are volatile: no SQL on the path; the
 * simulated serialisation of the payload costs ~2 µs.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { McpSession } from "../../entities/McpSession.ts"
import { makeSessionHarness, referenceServer, startEverythingHttp, stdioServer } from "../mcp/support.ts"
import type { BenchResult } from "./BenchResult.ts"

const ROUNDS = Number(process.env.MCP_BENCH_ROUNDS ?? 5)
const CALLS = Number(process.env.MCP_BENCH_CALLS ?? 200)
/** "sql": the platform's single-node cluster on embedded PGlite (in-process); "memory": TestRunner storage. */
const CLUSTER = process.env.MCP_BENCH_CLUSTER === "memory" ? "memory" as const : "sql" as const
const progress = (what: string) => process.stderr.write(`  mcp.bench: ${what}\n`)
const CONCURRENCY = 16
/** Calls per side before timing (JIT, the entity's activation, both connections' first requests). */
const WARMUP = Number(process.env.MCP_BENCH_WARMUP ?? 100)
const args = { message: "hello" }

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const timeSequential = async (once: () => Promise<unknown>) => {
  const start = performance.now()
  for (let i = 0; i < CALLS; i++) await once()
  return (performance.now() - start) / CALLS
}

const timeConcurrent = async (once: () => Promise<unknown>) => {
  const start = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < CALLS) await once()
  }))
  return (CALLS / (performance.now() - start)) * 1000
}

/** Alternating rounds; returns the median of each side. */
const sideBySide = async (
  direct: () => Promise<unknown>,
  entity: () => Promise<unknown>,
  measure: (f: () => Promise<unknown>) => Promise<number>
) => {
  const d: Array<number> = []
  const e: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      d.push(await measure(direct))
      e.push(await measure(entity))
    } else {
      e.push(await measure(entity))
      d.push(await measure(direct))
    }
  }
  return { direct: median(d), entity: median(e) }
}

const results = (label: string, direct: () => Promise<unknown>, entity: () => Promise<unknown>) =>
  Effect.runPromise(Effect.promise(async () => {
    // Warm-up: JIT, the entity's activation, both connections' first requests.
    for (let i = 0; i < WARMUP; i++) {
      await direct()
      await entity()
    }
    progress(`${label}: warmed up`)
    const latency = await sideBySide(direct, entity, timeSequential)
    progress(`${label}: latency ${(latency.entity * 1000).toFixed(0)} vs ${(latency.direct * 1000).toFixed(0)} µs`)
    const throughput = await sideBySide(direct, entity, timeConcurrent)
    const latencyRatio = latency.entity / latency.direct
    const throughputRatio = throughput.direct / throughput.entity
    return [
      {
        name: `MCP tool call latency, ${label}, ${CLUSTER} cluster (sequential, median of ${ROUNDS}×${CALLS})`,
        candidate: { label: "McpSession entity", value: latency.entity * 1000, unit: "µs/call" },
        baseline: { label: "direct SDK client", value: latency.direct * 1000, unit: "µs/call" },
        ratio: latencyRatio,
        target: "≤ 1.3×",
        met: latencyRatio <= 1.3
      },
      {
        name: `MCP tool call throughput, ${label}, ${CLUSTER} cluster (${CONCURRENCY} in flight)`,
        candidate: { label: "McpSession entity", value: throughput.entity, unit: "calls/s" },
        baseline: { label: "direct SDK client", value: throughput.direct, unit: "calls/s" },
        ratio: throughputRatio,
        target: "≤ 1.3× (baseline/candidate)",
        met: throughputRatio <= 1.3
      }
    ] satisfies Array<BenchResult>
  }))

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const started = performance.now()
  const http = await startEverythingHttp()
  const harness = await makeSessionHarness([
    stdioServer("stdio", referenceServer.everything, ["stdio"]),
    { id: "http", projectId: "bench", name: "http", transport: { type: "http", url: http.url, headers: {} } }
  ], { cluster: CLUSTER })
  const stdioTransport = new StdioClientTransport({ command: "bun", args: [referenceServer.everything, "stdio"], stderr: "pipe" })
  stdioTransport.stderr?.on("data", () => undefined)
  const stdioClient = new Client({ name: "bench", version: "1" })
  const httpClient = new Client({ name: "bench", version: "1" })
  try {
    await stdioClient.connect(stdioTransport)
    await httpClient.connect(new StreamableHTTPClientTransport(new URL(http.url)))
    progress(`servers and cluster ready after ${Math.round(performance.now() - started)} ms`)
    const sessions = await harness.runtime.runPromise(McpSession.client)
    const viaEntity = (id: string) => {
      const session = sessions(id)
      return () => harness.runtime.runPromise(session.CallTool({ name: "echo", arguments: args }))
    }
    const direct = (client: Client) => () => client.callTool({ name: "echo", arguments: args })
    return [
      ...(await results("stdio server-everything", direct(stdioClient), viaEntity("stdio"))),
      ...(await results("Streamable HTTP server-everything", direct(httpClient), viaEntity("http")))
    ]
  } finally {
    await stdioClient.close().catch(() => undefined)
    await httpClient.close().catch(() => undefined)
    await harness.dispose()
    await http.stop()
  }
}
