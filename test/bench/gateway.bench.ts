/**
 * Authenticated `GET /auth/me` on the whole platform (request ids, CORS,
 * per-IP + per-user token buckets, JWT verification, principal lookup,
 * HttpApi encoding) vs a bare `Bun.serve` hello-world, both loaded by the
 * same autocannon (a separate Node process, so the load generator does not
 * share the servers' event loop), alternated in one run.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpLayerRouter, HttpServer } from "@effect/platform"
import { BunHttpServer } from "@effect/platform-bun"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import * as path from "node:path"
import type { BenchResult } from "./BenchResult.ts"
import { authConfig, signUp } from "../support/auth.ts"
import { startPlatform } from "../support/platform.ts"

const AUTOCANNON = path.resolve(import.meta.dir, "../../node_modules/autocannon/autocannon.js")
const CONNECTIONS = 50
const SECONDS = Number(process.env.GATEWAY_BENCH_SECONDS ?? 8)

interface Load {
  readonly requestsPerSecond: number
  /** This process's CPU time (both servers live here) per completed request: robust to a busy machine. */
  readonly cpuMicrosPerRequest: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
}

const autocannon = async (url: string, headers: Record<string, string>, seconds: number): Promise<Load> => {
  const args = [AUTOCANNON, "-j", "-c", String(CONNECTIONS), "-d", String(seconds)]
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`)
  const cpu = process.cpuUsage()
  const proc = Bun.spawn(["node", ...args, url], { stdout: "pipe", stderr: "ignore" })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  const used = process.cpuUsage(cpu)
  const result = JSON.parse(out)
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: (used.user + used.system) / Math.max(1, result.requests.total),
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors
  }
}

/**
 * The framework's own floor: one HttpApi endpoint returning a constant JSON
 * body on the same Effect HTTP stack (HttpLayerRouter + BunHttpServer), no
 * middleware. What no platform endpoint can beat, measured in the same run.
 */
const startEffectHello = async () => {
  const Api = HttpApi.make("hello").add(
    HttpApiGroup.make("hello").add(HttpApiEndpoint.get("hello", "/hello").addSuccess(Schema.Struct({ hello: Schema.String })))
  )
  const Handlers = HttpApiBuilder.group(Api, "hello", (h) => h.handle("hello", () => Effect.succeed({ hello: "world" })))
  const runtime = ManagedRuntime.make(
    HttpLayerRouter.serve(HttpLayerRouter.addHttpApi(Api).pipe(Layer.provide(Handlers)), { disableLogger: true }).pipe(
      Layer.provideMerge(BunHttpServer.layer({ port: 0, hostname: "127.0.0.1" }))
    )
  )
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return { url: `http://127.0.0.1:${address.port}/hello`, stop: () => runtime.dispose() }
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const hello = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("hello world") })
  const effectHello = await startEffectHello()
  // Limits stay in the request path (their cost is measured) but far above what one machine can send.
  const platform = await startPlatform({
    auth: authConfig({ rateLimitIpPerSecond: 1e9, rateLimitIpBurst: 1e9, rateLimitUserPerSecond: 1e9, rateLimitUserBurst: 1e9 })
  })
  try {
    const user = await signUp(platform.baseUrl)
    const baselineUrl = `http://127.0.0.1:${hello.port}/`
    const candidateUrl = `${platform.baseUrl}/auth/me`
    // Warm-up: JIT, connection pools, the token and principal caches.
    await autocannon(baselineUrl, {}, 2)
    await autocannon(candidateUrl, user.headers, 2)
    await autocannon(effectHello.url, {}, 2)

    const baseline: Array<Load> = []
    const candidate: Array<Load> = []
    const floor: Array<Load> = []
    // Alternate so drifting machine load hits every side alike.
    for (let round = 0; round < 2; round++) {
      baseline.push(await autocannon(baselineUrl, {}, SECONDS / 2))
      candidate.push(await autocannon(candidateUrl, user.headers, SECONDS / 2))
      floor.push(await autocannon(effectHello.url, {}, SECONDS / 2))
    }
    const bad = candidate.reduce((n, l) => n + l.non2xx + l.errors, 0)
    if (bad > 0) throw new Error(`${bad} candidate requests were not 2xx: the benchmark would measure errors`)

    const mean = (xs: ReadonlyArray<Load>) => xs.reduce((s, l) => s + l.requestsPerSecond, 0) / xs.length
    const cand = mean(candidate)
    const base = mean(baseline)
    const effectFloor = mean(floor)
    const ratio = cand / base
    const cpu = (xs: ReadonlyArray<Load>) => Math.round(xs.reduce((s, l) => s + l.cpuMicrosPerRequest, 0) / xs.length)
    return [{
      name: `gateway: authenticated GET /auth/me vs Bun.serve hello (autocannon -c ${CONNECTIONS}, p99 ${
        Math.max(...candidate.map((l) => l.p99Ms))
      } ms vs ${Math.max(...baseline.map((l) => l.p99Ms))} ms; CPU ${cpu(candidate)} µs/req vs ${cpu(baseline)} µs/req)`,
      candidate: { label: "GET /auth/me", value: cand, unit: "req/s" },
      baseline: { label: "Bun.serve hello", value: base, unit: "req/s" },
      ratio,
      target: ">= 0.5x",
      met: ratio >= 0.5
    }, {
      name: `gateway: Effect HttpApi hello (no middleware: the HTTP stack's own ceiling) vs Bun.serve hello; CPU ${
        cpu(floor)
      } µs/req`,
      candidate: { label: "Effect HttpApi hello", value: effectFloor, unit: "req/s" },
      baseline: { label: "Bun.serve hello", value: base, unit: "req/s" },
      ratio: effectFloor / base
    }, {
      name: "gateway: authenticated GET /auth/me vs the Effect HttpApi hello floor",
      candidate: { label: "GET /auth/me", value: cand, unit: "req/s" },
      baseline: { label: "Effect HttpApi hello", value: effectFloor, unit: "req/s" },
      ratio: cand / effectFloor
    }]
  } finally {
    hello.stop(true)
    await effectHello.stop()
    await platform.stop()
  }
}
