/**
 * The HTTP edge against a bare `Bun.serve`, alternated in one run (issue #18):
 * - bare `Bun.serve` hello (the baseline);
 * - `Bun.serve` running one Effect per request (`Runtime.runPromise`): the Effect runtime's floor;
 * - an HttpApi hello on `@effect/platform-bun` (no middleware): the Effect HTTP stack's floor;
 * - the platform (`bun run src/main.ts` in its own process at dev defaults, INFO access log)
 *   `GET /auth/me` and a write route `POST /agents`.
 * - WebSocket round trips: `/ws/chat` ping and a `/rpc/ws` call against a bare Bun WebSocket echo.
 * Load comes from autocannon in a separate Node process. CPU per request is the server
 * process's own CPU time over the requests it answered: `/proc/<pid>/stat` for the platform,
 * `process.cpuUsage()` for the servers living in this process (nothing else runs here meanwhile).
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpLayerRouter, HttpServer } from "@effect/platform"
import { BunHttpServer } from "@effect/platform-bun"
import { Effect, Layer, ManagedRuntime, Runtime, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { BenchResult } from "./BenchResult.ts"
import { signUp } from "../support/auth.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { freePortSync } from "../support/freePort.ts"

const root = path.resolve(import.meta.dir, "../..")
const AUTOCANNON = path.join(root, "node_modules/autocannon/autocannon.js")
const CONNECTIONS = 50
const SECONDS = Number(process.env.GATEWAY_BENCH_SECONDS ?? 8)
const ROUNDS = 2

interface Load {
  readonly requestsPerSecond: number
  readonly cpuMicrosPerRequest: number
  /** The same less the process's idle CPU rate over the run (cluster polling, timers): what requests cost. */
  readonly netCpuMicrosPerRequest: number
  readonly p99Ms: number
  readonly bad: number
  readonly detail: string
}

type CpuClock = () => number

/** CPU µs of this process. */
const ownCpu: CpuClock = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** CPU µs of another process, from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms). */
const procCpu = (pid: number): CpuClock => () => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

interface Target {
  readonly url: string
  readonly cpu: CpuClock
  /** CPU µs per second the server spends with no request (0 for the servers in this process). */
  readonly idleCpuPerSecond?: number
  readonly headers?: Record<string, string>
  readonly method?: string
  readonly body?: string
  readonly connections?: number
}

const autocannon = async (target: Target, seconds: number): Promise<Load> => {
  const args = [AUTOCANNON, "-j", "-c", String(target.connections ?? CONNECTIONS), "-d", String(seconds)]
  for (const [k, v] of Object.entries(target.headers ?? {})) args.push("-H", `${k}=${v}`)
  if (target.method) args.push("-m", target.method)
  // -I: each `[<id>]` in the body becomes a fresh id per request.
  if (target.body) args.push("-I", "-b", target.body)
  const cpu0 = target.cpu()
  const t0 = performance.now()
  const proc = Bun.spawn(["node", ...args, target.url], { stdout: "pipe", stderr: "ignore" })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  const used = target.cpu() - cpu0
  const idle = ((target.idleCpuPerSecond ?? 0) * (performance.now() - t0)) / 1000
  const result = JSON.parse(out)
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: used / Math.max(1, result.requests.total),
    netCpuMicrosPerRequest: Math.max(0, used - idle) / Math.max(1, result.requests.total),
    p99Ms: result.latency.p99,
    bad: result.non2xx + result.errors,
    detail: `${target.method ?? "GET"} ${target.url}: 4xx ${result["4xx"]}, 5xx ${result["5xx"]}, errors ${result.errors}, timeouts ${result.timeouts}`
  }
}

/**
 * Messages/s of ping-pong round trips over WebSockets: SOCKETS sockets, each sending the next
 * message when the previous answer arrives, for `seconds`; the client runs in this process.
 */
const WS_SOCKETS = 20
const wsRoundTrips = async (
  url: string,
  message: string | ((n: number) => string),
  seconds: number,
  cpu: CpuClock,
  /** Each answer must pass this (an RPC call's Exit must be a Success), else the run fails. */
  check: (data: unknown) => boolean = () => true
) => {
  let n = 0
  const next = typeof message === "string" ? () => message : () => message(++n)
  const sockets = await Promise.all(Array.from({ length: WS_SOCKETS }, () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url)
      ws.onopen = () => resolve(ws)
      ws.onerror = () => reject(new Error(`WebSocket ${url} failed`))
    })))
  let count = 0
  let failed: unknown = undefined
  let running = true
  for (const ws of sockets) {
    ws.onmessage = (event) => {
      count++
      if (failed === undefined && !check(event.data)) failed = event.data
      if (running) ws.send(next())
    }
  }
  const cpu0 = cpu()
  const t0 = performance.now()
  for (const ws of sockets) ws.send(next())
  await Bun.sleep(seconds * 1000)
  running = false
  const elapsed = (performance.now() - t0) / 1000
  const used = cpu() - cpu0
  for (const ws of sockets) ws.close()
  if (failed !== undefined) throw new Error(`${url.split("?")[0]}: unexpected answer ${String(failed).slice(0, 300)}`)
  return { perSecond: count / elapsed, cpuMicrosPerMessage: used / Math.max(1, count) }
}

/** One HttpApi endpoint returning a constant body on HttpLayerRouter + BunHttpServer, no middleware. */
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

/** `bun run dev` at its defaults (INFO JSON access log to stdout), limits far above what one machine can send. */
const startDevPlatform = async (cwd = root) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-gateway-"))
  await seedDataDir(dataDir)
  const port = String(freePortSync())
  const log = path.join(dataDir, "stdout.log")
  const proc = Bun.spawn(["bun", "run", "src/main.ts"], {
    cwd,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: port,
      RATE_LIMIT_IP_PER_SECOND: "1e9",
      RATE_LIMIT_IP_BURST: "1e9",
      RATE_LIMIT_USER_PER_SECOND: "1e9",
      RATE_LIMIT_USER_BURST: "1e9",
      // The write row creates thousands of agents in one project: the quota is not what it measures.
      QUOTA_AGENTS_PER_PROJECT: "1000000000",
      // The WebSocket rows open WS_SOCKETS sockets of one kind for one user at once.
      WS_MAX_SOCKETS_PER_USER: String(WS_SOCKETS)
    },
    // A file, as a terminal or a log collector would take it: the access log's cost is measured.
    stdout: Bun.file(log),
    stderr: Bun.file(path.join(dataDir, "stderr.log"))
  })
  const baseUrl = `http://127.0.0.1:${port}`
  // Generous: on the shared 2-core machine under load a start takes minutes.
  const deadline = Date.now() + 240_000
  for (;;) {
    if (proc.exitCode !== null) {
      const tail = (f: string) => fs.readFileSync(path.join(dataDir, f), "utf8").slice(-2000)
      throw new Error(`bun run dev exited with ${proc.exitCode}: ${tail("stderr.log")} ${tail("stdout.log")}`)
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL")
      throw new Error("bun run dev not healthy within 240 s")
    }
    try {
      if ((await fetch(`${baseUrl}/health`)).status === 200) break
    } catch {
      // not listening yet
    }
    await Bun.sleep(100)
  }
  return {
    baseUrl,
    cpu: procCpu(proc.pid),
    accessLogLines: () => fs.readFileSync(log, "utf8").split("\n").filter((l) => l.includes('"message":"http"')).length,
    stop: async () => {
      proc.kill("SIGTERM")
      await proc.exited
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const hello = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("hello world") })
  const runtime = Runtime.defaultRuntime
  const effectPerRequest = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => Runtime.runPromise(runtime, Effect.sync(() => new Response("hello world")))
  })
  const effectHello = await startEffectHello()
  const platform = await startDevPlatform()
  // GATEWAY_BENCH_BEFORE=<checkout of an earlier commit, with node_modules>: its `bun run dev` too,
  // alternated in the same run, for a before/after ratio the machine's load cannot skew.
  const beforeDir = process.env.GATEWAY_BENCH_BEFORE
  const before = beforeDir ? await startDevPlatform(beforeDir) : undefined
  try {
    const user = await signUp(platform.baseUrl)
    // The platform's own background work (cluster storage polling, timers) while no request arrives.
    const idleRate = async (clock: CpuClock) => {
      await Bun.sleep(500)
      const c0 = clock()
      await Bun.sleep(3000)
      return (clock() - c0) / 3
    }
    const idleCpuPerSecond = await idleRate(platform.cpu)
    const beforeUser = before ? await signUp(before.baseUrl) : undefined
    const targets = {
      bare: { url: `http://127.0.0.1:${hello.port}/`, cpu: ownCpu },
      runtime: { url: `http://127.0.0.1:${effectPerRequest.port}/`, cpu: ownCpu },
      httpApi: { url: effectHello.url, cpu: ownCpu },
      me: { url: `${platform.baseUrl}/auth/me`, cpu: platform.cpu, idleCpuPerSecond, headers: user.headers },
      write: {
        url: `${platform.baseUrl}/agents`,
        cpu: platform.cpu,
        idleCpuPerSecond,
        method: "POST",
        headers: { ...user.headers, "content-type": "application/json" },
        // A unique name per request: agents' slugs are unique per project.
        body: JSON.stringify({ projectId: user.projectId, name: "bench [<id>]", systemPrompt: "help" }),
        // Each request writes a row: fewer in flight, so none waits past autocannon's 10 s timeout.
        connections: 10
      },
      ...(before && beforeUser ? { meBefore: { url: `${before.baseUrl}/auth/me`, cpu: before.cpu, headers: beforeUser.headers } } : {})
    } satisfies Record<string, Target>
    type Name = keyof typeof targets | "meBefore"
    const names = Object.keys(targets) as Array<Name>
    const targetOf = (n: Name): Target => (targets as Record<string, Target>)[n]
    // Warm-up: JIT, connection pools, the token and principal caches.
    for (const name of names) await autocannon(targetOf(name), 1)
    const loads = Object.fromEntries(names.map((n) => [n, [] as Array<Load>])) as Record<Name, Array<Load>>
    // Alternate so drifting machine load hits every side alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names) loads[name].push(await autocannon(targetOf(name), SECONDS / ROUNDS))
    }
    // WebSocket: a bare Bun echo vs /ws/chat ping → pong on the platform, alternated.
    const echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("upgrade", { status: 400 })),
      websocket: { message: (ws, m) => void ws.send(m) }
    })
    const chatUrl = `${platform.baseUrl.replace("http", "ws")}/ws/chat?access_token=${user.token}`
    const ping = JSON.stringify({ type: "ping" })
    // /rpc/ws: SystemRpcs.Ping calls in @effect/rpc's NDJSON wire format, one in flight per socket.
    const rpcUrl = `${platform.baseUrl.replace("http", "ws")}/rpc/ws?access_token=${user.token}`
    const rpcCall = (n: number) => JSON.stringify({ _tag: "Request", id: String(n), tag: "Ping", payload: {}, headers: [] }) + "\n"
    const rpcSucceeded = (data: unknown) => typeof data === "string" && data.includes('"_tag":"Exit"') && data.includes('"_tag":"Success"')
    const wsBare: Array<{ perSecond: number; cpuMicrosPerMessage: number }> = []
    const wsChat: Array<{ perSecond: number; cpuMicrosPerMessage: number }> = []
    const wsRpc: Array<{ perSecond: number; cpuMicrosPerMessage: number }> = []
    try {
      for (let round = 0; round < ROUNDS; round++) {
        wsBare.push(await wsRoundTrips(`ws://127.0.0.1:${echo.port}/`, ping, SECONDS / ROUNDS / 2, ownCpu))
        wsChat.push(await wsRoundTrips(chatUrl, ping, SECONDS / ROUNDS / 2, platform.cpu))
        wsRpc.push(await wsRoundTrips(rpcUrl, rpcCall, SECONDS / ROUNDS / 2, platform.cpu, rpcSucceeded))
      }
    } finally {
      echo.stop(true)
    }
    const bad = loads.me.concat(loads.write).filter((l) => l.bad > 0)
    if (bad.length > 0) throw new Error(`platform requests not 2xx: ${bad.map((l) => l.detail).join("; ")}`)
    const logged = platform.accessLogLines()
    if (logged < 100) throw new Error(`the platform wrote ${logged} access-log lines: not the dev defaults`)

    const rps = (n: Name) => mean(loads[n].map((l) => l.requestsPerSecond))
    const cpu = (n: Name) => Math.round(mean(loads[n].map((l) => l.cpuMicrosPerRequest)))
    const netCpu = (n: Name) => Math.round(mean(loads[n].map((l) => l.netCpuMicrosPerRequest)))
    const p99 = (n: Name) => Math.max(...loads[n].map((l) => l.p99Ms))
    const load = os.loadavg()[0].toFixed(1)
    const base = rps("bare")
    const baseline = { label: "Bun.serve hello", value: base, unit: "req/s" }
    const row = (n: Name, label: string, name: string, target?: { text: string; met: boolean }): BenchResult => ({
      name: `gateway: ${name} (autocannon -c ${targetOf(n).connections ?? CONNECTIONS}; CPU ${cpu(n)} µs/req${
        targetOf(n).idleCpuPerSecond ? ` (${netCpu(n)} net of the idle ${Math.round((targetOf(n).idleCpuPerSecond ?? 0) / 1000)} ms/s)` : ""
      } vs ${cpu("bare")}; p99 ${p99(n)} ms; load ${load})`,
      candidate: { label, value: rps(n), unit: "req/s" },
      baseline,
      ratio: rps(n) / base,
      ...(target ? { target: target.text, met: target.met } : {})
    })
    const meRatio = rps("me") / base
    const overBare = netCpu("me") - cpu("bare")
    return [
      row("runtime", "Effect per request", "Bun.serve + Runtime.runPromise per request"),
      row("httpApi", "Effect HttpApi hello", "HttpApi hello, no middleware (the Effect HTTP stack's floor)"),
      row("me", "GET /auth/me", `authenticated GET /auth/me, bun run dev defaults (INFO access log); net CPU over bare ${overBare} µs/req`, {
        text: ">= 0.5x, <= 30 µs CPU over bare",
        met: meRatio >= 0.5 && overBare <= 30
      }),
      {
        name: `gateway: WebSocket /ws/chat ping → pong vs a bare Bun WebSocket echo (${WS_SOCKETS} sockets, one message in flight each; server CPU ${
          Math.round(mean(wsChat.map((w) => w.cpuMicrosPerMessage)))
        } µs/msg gross vs ${Math.round(mean(wsBare.map((w) => w.cpuMicrosPerMessage)))} µs/msg incl. the client; load ${load})`,
        candidate: { label: "/ws/chat ping", value: mean(wsChat.map((w) => w.perSecond)), unit: "msg/s" },
        baseline: { label: "Bun WebSocket echo", value: mean(wsBare.map((w) => w.perSecond)), unit: "msg/s" },
        ratio: mean(wsChat.map((w) => w.perSecond)) / mean(wsBare.map((w) => w.perSecond))
      },
      {
        name: `gateway: WebSocket /rpc/ws call (SystemRpcs.Ping, NDJSON) vs a bare Bun WebSocket echo (${WS_SOCKETS} sockets, one call in flight each; server CPU ${
          Math.round(mean(wsRpc.map((w) => w.cpuMicrosPerMessage)))
        } µs/call gross; load ${load})`,
        candidate: { label: "/rpc/ws Ping", value: mean(wsRpc.map((w) => w.perSecond)), unit: "msg/s" },
        baseline: { label: "Bun WebSocket echo", value: mean(wsBare.map((w) => w.perSecond)), unit: "msg/s" },
        ratio: mean(wsRpc.map((w) => w.perSecond)) / mean(wsBare.map((w) => w.perSecond))
      },
      row("write", "POST /agents", "authenticated POST /agents (a row written to embedded PGlite), 10 connections"),
      ...(before
        ? [{
          name: `gateway: GET /auth/me, this checkout vs ${beforeDir} (CPU ${cpu("me")} vs ${cpu("meBefore")} µs/req; load ${load})`,
          candidate: { label: "now", value: rps("me"), unit: "req/s" },
          baseline: { label: "before", value: rps("meBefore"), unit: "req/s" },
          ratio: rps("me") / rps("meBefore")
        }]
        : [])
    ]
  } finally {
    hello.stop(true)
    effectPerRequest.stop(true)
    await effectHello.stop()
    await platform.stop()
    await before?.stop()
  }
}
