import { SQL } from "bun"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { signUp } from "../support/auth.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { killAndWait, waitFor } from "../support/process.ts"
import type { BenchResult } from "./BenchResult.ts"
import { mixedRequests } from "./support/mixedRequests.ts"
import { freePortSync } from "../support/freePort.ts"

/**
 * Soak (issue #24): `bun run dev`'s entry on a fresh database of the local PostgreSQL 15 under
 * a steady mixed load (health, auth, agent create/list/read/delete, durable jobs, traces) for
 * SOAK_SECONDS (60) at SOAK_RATE requests/s (20). Every 10 s: the process's RSS, the event-loop
 * delay p99 (a timer preloaded into the platform process, test/bench/support/loopProbe.ts), the
 * window's request p99, and the database's connections. Reported: first and last sample and the
 * slope over the last half of the run (per minute), which should be ~0 once the process levelled off.
 *
 * Leak hunting: HEAP_PROBE_FILE=<file> adds a heap census (live object counts by type after a full
 * GC, bun:jsc heapStats) at each sample; SOAK_WORKERS=<n> runs closed loop instead of at SOAK_RATE;
 * SOAK_KEPT_AGENTS=Infinity never deletes the agents the mix creates.
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const RATE = Number(process.env.SOAK_RATE ?? 20)
const WINDOW_MS = 10_000
const root = path.resolve(import.meta.dir, "../..")
const log = (line: string) => process.stderr.write(`  [soak] ${line}\n`)

interface Sample {
  readonly t: number
  readonly rssMb: number
  readonly loopP99Ms: number
  readonly requestP99Ms: number
  readonly dbConnections: number
  readonly requests: number
  readonly errors: number
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024
const p99 = (xs: Array<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0
}
/** Least-squares slope of y over t (seconds), per minute. */
const slopePerMinute = (points: ReadonlyArray<readonly [number, number]>) => {
  const n = points.length
  if (n < 2) return 0
  const mt = points.reduce((a, [t]) => a + t, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const num = points.reduce((a, [t, y]) => a + (t - mt) * (y - my), 0)
  const den = points.reduce((a, [t]) => a + (t - mt) ** 2, 0)
  return den === 0 ? 0 : (num / den) * 60
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const db = await createTestDatabase("soak_bench")
  const probeFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "soak-")), "loop.jsonl")
  const port = String(freePortSync())
  const baseUrl = `http://127.0.0.1:${port}`
  const proc = Bun.spawn(["bun", "--preload", path.join(import.meta.dir, "support/loopProbe.ts"), "src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      VECTOR_STORE: "disabled",
      JWT_SECRET_KEY: "soak-bench-secret-0123456789abcdef0123456789",
      SQL_TOOL_SECRET_KEY: "soak-bench-sql-tool-0123456789abcdef012345",
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: port,
      LOG_LEVEL: "ERROR",
      LOOP_PROBE_FILE: probeFile,
      LOOP_PROBE_WINDOW_MS: String(WINDOW_MS)
    },
    stdout: "ignore",
    stderr: "ignore"
  })
  const admin = new SQL(db.url)
  const samples: Array<Sample> = []
  try {
    // Start-up is not what is measured: on a saturated machine it took over 2 minutes.
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).status === 200, 600_000, () => proc.exitCode !== null)
    const user = await signUp(baseUrl)
    let n = 0
    // SOAK_KEPT_AGENTS=Infinity: never delete (the first runs' mix, to tell data growth from leaks).
    const KEPT_AGENTS = Number(process.env.SOAK_KEPT_AGENTS ?? 20)
    const { requestFor, created } = mixedRequests(user, { keptAgents: KEPT_AGENTS, namePrefix: "soak" })
    let latencies: Array<number> = []
    let requests = 0
    let errors = 0
    const inflight = new Set<Promise<void>>()
    const one = async (i: number) => {
      const [p, init] = requestFor(i)
      const t0 = performance.now()
      try {
        const res = await fetch(`${baseUrl}${p}`, { ...init, signal: AbortSignal.timeout(30_000) })
        const body = await res.text()
        if (res.status >= 500) errors++
        created(i, res.status, body)
      } catch {
        errors++
      }
      latencies.push(performance.now() - t0)
      requests++
    }
    const started = Date.now()
    let nextSample = started + WINDOW_MS
    // Leak hunting (SOAK_WORKERS set): closed loop, that many requests at a time, so a saturated
    // machine does not pile requests up in the process and blur what the code itself keeps.
    const workers = Number(process.env.SOAK_WORKERS ?? 0)
    const loops = Array.from({ length: workers }, async () => {
      while (Date.now() - started < SECONDS * 1000) await one(n++)
    })
    while (Date.now() - started < SECONDS * 1000) {
      if (workers === 0) {
        // Steady arrival rate (open loop): a slow server gets more requests in flight, not fewer.
        const p = one(n++).finally(() => inflight.delete(p))
        inflight.add(p)
      }
      await Bun.sleep(1000 / RATE)
      if (Date.now() >= nextSample) {
        nextSample += WINDOW_MS
        const loop = fs.existsSync(probeFile) ? fs.readFileSync(probeFile, "utf8").trim().split("\n").at(-1) : undefined
        const [conns] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${db.name}`
        const s: Sample = {
          t: Math.round((Date.now() - started) / 1000),
          rssMb: rssMb(proc.pid),
          loopP99Ms: loop ? (JSON.parse(loop) as { p99: number }).p99 : 0,
          requestP99Ms: p99(latencies),
          // The sampling connection itself is not the platform's.
          dbConnections: conns.n - 1,
          requests,
          errors
        }
        latencies = []
        samples.push(s)
        // With HEAP_PROBE_FILE set, the preloaded probe writes its heap census at each sample.
        if (process.env.HEAP_PROBE_FILE !== undefined) proc.kill("SIGUSR2")
        log(`t=${s.t}s rss=${s.rssMb.toFixed(0)} MB loop p99=${s.loopP99Ms.toFixed(1)} ms request p99=${s.requestP99Ms.toFixed(0)} ms db conns=${s.dbConnections} requests=${s.requests} 5xx/errors=${s.errors} in flight=${inflight.size} load=${os.loadavg()[0].toFixed(1)}`)
      }
    }
    await Promise.all([...inflight, ...loops])
  } finally {
    await admin.close()
    await killAndWait(proc, "SIGKILL")
    await db.drop()
  }

  const half = samples.slice(Math.floor(samples.length / 2))
  const slope = (f: (s: Sample) => number) => slopePerMinute(half.map((s) => [s.t, f(s)] as const))
  const first = samples[0]
  const last = samples[samples.length - 1]
  const row = (name: string, f: (s: Sample) => number, unit: string): BenchResult => ({
    name: `soak ${SECONDS} s at ${RATE} req/s: ${name} slope over the last half (first ${f(first).toFixed(1)}, last ${f(last).toFixed(1)} ${unit})`,
    candidate: { label: "slope", value: slope(f), unit: `${unit}/min` }
  })
  return [
    row("RSS", (s) => s.rssMb, "MB"),
    row("event-loop delay p99", (s) => s.loopP99Ms, "ms"),
    row("request p99", (s) => s.requestP99Ms, "ms"),
    row("DB connections", (s) => s.dbConnections, "conns"),
    { name: `soak: requests / 5xx or network errors`, candidate: { label: "errors", value: last.errors, unit: `of ${last.requests}` } }
  ]
}
