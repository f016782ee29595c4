/**
 * Start-up and memory of `bun run dev`'s entry (src/main.ts) at its defaults
 * (embedded PGlite), issue #22 targets: warm start ≤ 1 s, first start ≤ 3 s,
 * idle RSS ≤ 200 MB, RSS after 10,000 mixed requests ≤ 300 MB.
 *
 * - "first start, initdb": a fresh data dir and no template (EMBEDDED_PG_TEMPLATE_DIR
 *   pointing at an empty dir): PGlite's initdb runs, and saves the template;
 * - "first start, template": another fresh data dir, copied from that template (what a
 *   first `bun run dev` does after `bun install`, whose postinstall makes the template);
 * - "warm start": a restart on an existing data dir.
 * Each checkout's server bundle is built first, as `bun install`'s postinstall does
 * (src/app/buildServerBundle.ts); the log says whether it was still fresh at the end
 * (an edited source sends main.ts back to the sources).
 * Time = spawn to the first 200 from /health; CPU = the process's user + system time
 * until then (all threads), which the machine's load inflates far less than the wall time.
 *
 * STARTUP_BASELINE_ROOT=<another checkout> (e.g. `git worktree add --detach <dir> <commit>`
 * with node_modules linked) measures that checkout the same way, each step alternated with
 * this one, for before/after rows in one run. STARTUP_REQUESTS (10000) sets the mixed load.
 */
import type { Subprocess } from "bun"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { signUp } from "../support/auth.ts"
import type { BenchResult } from "./BenchResult.ts"
import { mixedRequests } from "./support/mixedRequests.ts"
import { freePortSync } from "../support/freePort.ts"

const here = path.resolve(import.meta.dir, "../..")
const baselineRoot = process.env.STARTUP_BASELINE_ROOT
const REQUESTS = Number(process.env.STARTUP_REQUESTS ?? 10_000)
const log = (line: string) => process.stderr.write(`  [startup] ${line}\n`)

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024
/** utime + stime of the process (all its threads), in ms. */
const cpuMs = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // CLK_TCK
}
const port = () => String(freePortSync())

interface Started {
  readonly proc: Subprocess
  readonly url: string
  readonly readyMs: number
  readonly cpuMs: number
}

const start = async (cmd: Array<string>, cwd: string, env: Record<string, string>, healthPath = "/health"): Promise<Started> => {
  const p = port()
  const url = `http://127.0.0.1:${p}`
  const t0 = performance.now()
  const proc = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, HTTP_HOST: "127.0.0.1", LOG_LEVEL: "WARN", ...env, HTTP_PORT: p, P: p },
    stdout: "ignore",
    stderr: "ignore"
  })
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${cmd.join(" ")} in ${cwd} exited with ${proc.exitCode}`)
    try {
      if ((await fetch(`${url}${healthPath}`)).status === 200) break
    } catch {
      // not listening yet
    }
    await Bun.sleep(20)
  }
  return { proc, url, readyMs: performance.now() - t0, cpuMs: cpuMs(proc.pid) }
}

const stop = async (proc: Subprocess) => {
  proc.kill("SIGTERM")
  await proc.exited
}

/** RSS after 3 s without requests. */
const idleRss = async (s: Started) => {
  await Bun.sleep(3000)
  return rssMb(s.proc.pid)
}

/**
 * `REQUESTS` requests, 8 at a time, cycling through health, auth, agents (create, list,
 * read, delete: at most 20 kept), durable jobs and traces; then RSS after 3 s idle.
 */
const mixedLoad = async (s: Started) => {
  const user = await signUp(s.url)
  const { requestFor, created } = mixedRequests(user, { keptAgents: 20, namePrefix: "bench" })
  let errors = 0
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < REQUESTS) {
      const i = next++
      const [p, init] = requestFor(i)
      try {
        const res = await fetch(`${s.url}${p}`, { ...init, signal: AbortSignal.timeout(60_000) })
        const body = await res.text()
        if (res.status >= 500) errors++
        created(i, res.status, body)
      } catch {
        errors++
      }
    }
  }))
  const seconds = (performance.now() - t0) / 1000
  await Bun.sleep(3000)
  return { rss: rssMb(s.proc.pid), seconds, errors }
}

interface Checkout {
  readonly label: string
  readonly root: string
  readonly dataDir: string
  readonly templateDir: string
  readonly results: Record<string, number>
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bench-startup-"))
  const helloFile = path.join(scratch, "hello.ts")
  fs.writeFileSync(helloFile, `Bun.serve({ port: Number(process.env.P), hostname: "127.0.0.1", fetch: () => new Response("ok") })`)
  const checkouts: Array<Checkout> = [{ label: "this checkout", root: here }, ...(baselineRoot ? [{ label: "baseline", root: path.resolve(baselineRoot) }] : [])]
    .map((c, i) => ({ ...c, dataDir: path.join(scratch, `data-${i}`), templateDir: path.join(scratch, `template-${i}`), results: {} }))
  const env = (c: Checkout, dataDir: string) => ({ DATA_DIR: dataDir, EMBEDDED_PG_TEMPLATE_DIR: c.templateDir, JWT_SECRET_KEY: "startup-bench-secret-0123456789abcdef0123456" })
  // Each step runs for every checkout before the next step: the load drifts over minutes.
  const each = async (step: string, f: (c: Checkout) => Promise<void>) => {
    for (const c of checkouts) {
      await f(c)
      log(`${step} ${c.label}: ${JSON.stringify(c.results)}`)
    }
  }
  const bundleScript = (c: Checkout) => path.join(c.root, "src/app/buildServerBundle.ts")
  const bundleFresh = async (c: Checkout) =>
    fs.existsSync(bundleScript(c))
      ? ((await import(path.join(c.root, "src/app/ServerBundle.ts"))) as { freshBundle: () => string | undefined }).freshBundle() !== undefined
      : "no bundle"
  try {
    for (const c of checkouts) {
      if (fs.existsSync(bundleScript(c))) log(`${c.label}: ${Bun.spawnSync(["bun", bundleScript(c)], { cwd: c.root }).stdout.toString().trim()}`)
    }
    const bare = await start(["bun", "run", helloFile], scratch, {}, "/")
    const bareRss = await idleRss(bare)
    await stop(bare.proc)
    await each("first start (initdb)", async (c) => {
      const s = await start(["bun", "run", "src/main.ts"], c.root, env(c, path.join(scratch, `initdb-${c.label}`)))
      Object.assign(c.results, { initdbMs: s.readyMs, initdbCpu: s.cpuMs })
      await stop(s.proc)
    })
    await each("first start (template)", async (c) => {
      const s = await start(["bun", "run", "src/main.ts"], c.root, env(c, c.dataDir))
      Object.assign(c.results, { templateMs: s.readyMs, templateCpu: s.cpuMs })
      await stop(s.proc)
    })
    await each("warm start", async (c) => {
      const s = await start(["bun", "run", "src/main.ts"], c.root, env(c, c.dataDir))
      Object.assign(c.results, { warmMs: s.readyMs, warmCpu: s.cpuMs, idleRss: await idleRss(s) })
      const load = await mixedLoad(s)
      Object.assign(c.results, { loadedRss: load.rss, loadSeconds: load.seconds, loadErrors: load.errors })
      await stop(s.proc)
    })
    for (const c of checkouts) log(`${c.label}: server bundle still fresh after the run: ${await bundleFresh(c)}`)
    const [cand, base] = checkouts as [Checkout, Checkout | undefined]
    const r = cand.results
    const vsBase = (key: string, unit: string) =>
      base ? { label: "baseline checkout", value: base.results[key]!, unit } : undefined
    const row = (name: string, key: string, unit: string, target: string | undefined, limit: number | undefined, fallback?: { label: string; value: number; unit: string }): BenchResult => {
      const baseline = vsBase(key, unit) ?? fallback
      return {
        name,
        candidate: { label: "platform", value: r[key]!, unit },
        ...(baseline ? { baseline, ratio: r[key]! / baseline.value } : {}),
        ...(target ? { target } : {}),
        ...(limit !== undefined ? { met: r[key]! <= limit } : {})
      }
    }
    const bareMs = { label: "bare Bun.serve", value: bare.readyMs, unit: "ms" }
    const bareMb = { label: "bare Bun.serve", value: bareRss, unit: "MB" }
    return [
      row("dev start → healthy (warm data dir)", "warmMs", "ms", "≤ 1000 ms", 1000, bareMs),
      row("dev start CPU time to healthy (warm data dir)", "warmCpu", "ms", undefined, undefined),
      row("dev start → healthy (fresh data dir, template from install)", "templateMs", "ms", "≤ 3000 ms", 3000, bareMs),
      {
        name: "first start: template copy vs initdb (fresh data dir, CPU time to healthy)",
        candidate: { label: "template", value: r.templateCpu!, unit: "ms" },
        baseline: { label: "initdb", value: r.initdbCpu!, unit: "ms" },
        ratio: r.templateCpu! / r.initdbCpu!
      },
      row("dev start → healthy (fresh data dir, initdb: no template)", "initdbMs", "ms", undefined, undefined, bareMs),
      row("idle RSS (3 s after healthy)", "idleRss", "MB", "≤ 200 MB", 200, bareMb),
      row(`RSS after ${REQUESTS} mixed requests (${r.loadErrors} errors, ${r.loadSeconds!.toFixed(0)} s)`, "loadedRss", "MB", "≤ 300 MB", 300, bareMb)
    ]
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}
