/**
 * Time from `bun run dev` to a healthy /health, and idle RSS, against a bare
 * Bun.serve hello-world process started the same way (targets: ≤ 3 s, ≤ 300 MB).
 * "cold" = a fresh data dir (PGlite initdb runs), "warm" = a restart on it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { BenchResult } from "./BenchResult.ts"

const root = path.resolve(import.meta.dir, "../..")

const rssMb = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

const startAndMeasure = async (cmd: Array<string>, env: Record<string, string>, url: string) => {
  const t0 = performance.now()
  const proc = Bun.spawn(cmd, { cwd: root, env: { ...process.env, ...env }, stdout: "ignore", stderr: "ignore" })
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${cmd.join(" ")} exited with ${proc.exitCode}`)
    try {
      if ((await fetch(url)).status === 200) break
    } catch {
      // not listening yet
    }
    await Bun.sleep(20)
  }
  const readyMs = performance.now() - t0
  await Bun.sleep(3000) // idle
  const rss = rssMb(proc.pid)
  proc.kill("SIGTERM")
  await proc.exited
  return { readyMs, rss }
}

const port = () => String(30000 + Math.floor(Math.random() * 20000))

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-startup-"))
  const hello = fs.mkdtempSync(path.join(os.tmpdir(), "bench-hello-"))
  const helloFile = path.join(hello, "hello.ts")
  fs.writeFileSync(helloFile, `Bun.serve({ port: Number(process.env.P), hostname: "127.0.0.1", fetch: () => new Response("ok") })`)
  try {
    const p1 = port()
    const bare = await startAndMeasure(["bun", "run", helloFile], { P: p1 }, `http://127.0.0.1:${p1}/`)
    const env = { DATA_DIR: dataDir, HTTP_HOST: "127.0.0.1", LOG_LEVEL: "WARN" }
    const p2 = port()
    const cold = await startAndMeasure(["bun", "run", "src/main.ts"], { ...env, HTTP_PORT: p2 }, `http://127.0.0.1:${p2}/health`)
    const p3 = port()
    const warm = await startAndMeasure(["bun", "run", "src/main.ts"], { ...env, HTTP_PORT: p3 }, `http://127.0.0.1:${p3}/health`)
    const baseline = (v: number, unit: string) => ({ label: "bare Bun.serve", value: v, unit })
    return [
      {
        name: "dev start → healthy (warm data dir)",
        candidate: { label: "platform", value: warm.readyMs, unit: "ms" },
        baseline: baseline(bare.readyMs, "ms"),
        ratio: warm.readyMs / bare.readyMs,
        target: "≤ 3000 ms",
        met: warm.readyMs <= 3000
      },
      {
        name: "dev start → healthy (fresh data dir, initdb)",
        candidate: { label: "platform", value: cold.readyMs, unit: "ms" },
        baseline: baseline(bare.readyMs, "ms"),
        ratio: cold.readyMs / bare.readyMs,
        target: "≤ 3000 ms",
        met: cold.readyMs <= 3000
      },
      {
        name: "idle RSS",
        candidate: { label: "platform", value: warm.rss, unit: "MB" },
        baseline: baseline(bare.rss, "MB"),
        ratio: warm.rss / bare.rss,
        target: "≤ 300 MB",
        met: warm.rss <= 300
      }
    ]
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
    fs.rmSync(hello, { recursive: true, force: true })
  }
}
