import type { Subprocess } from "bun"
import * as path from "node:path"
import { freePortSync } from "./freePort.ts"

const root = path.resolve(import.meta.dir, "../..")

/**
 * The platform as a real child process (`bun run src/main.ts`), for tests that
 * kill it for real. Waits until /health answers 200 (a runner: once it holds shards, which
 * on a saturated machine can take minutes while the others rebalance; see readyMs).
 */
export const spawnPlatform = async (env: Record<string, string>, entry = "src/main.ts", readyMs = 90_000) => {
  const port = env.HTTP_PORT ?? String(freePortSync())
  const proc = Bun.spawn(["bun", "run", entry], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "WARN", HTTP_HOST: "127.0.0.1", ...env, HTTP_PORT: port },
    stdout: "pipe",
    stderr: "pipe"
  })
  const baseUrl = `http://127.0.0.1:${port}`
  try {
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).status === 200, readyMs, () => proc.exitCode !== null)
  } catch (e) {
    proc.kill("SIGKILL")
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    throw new Error(`${entry} did not become healthy: ${e instanceof Error ? e.message : e}\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`)
  }
  return { proc, baseUrl, wsUrl: baseUrl.replace("http", "ws"), kill: (signal: NodeJS.Signals = "SIGKILL") => killAndWait(proc, signal) }
}

export const killAndWait = async (proc: Subprocess, signal: NodeJS.Signals = "SIGKILL") => {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
  await proc.exited
}

/** Polls `check` until it returns true; errors while polling count as "not yet". */
export const waitFor = async (
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  abort: () => boolean = () => false
) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (abort()) throw new Error("process exited while waiting")
    try {
      if (await check()) return
    } catch {
      // not ready yet
    }
    await Bun.sleep(100)
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

/** Collects a child's stderr as text (after it exits). */
export const readStderr = async (proc: Subprocess<"ignore", "pipe", "pipe">) => new Response(proc.stderr).text()

/**
 * Environment of cluster node `i` (`bun run runner`) on `databaseUrl`: its HTTP and runner
 * ports are free ports the OS picks when node `i` is first asked for, and stay its own.
 */
export const clusterNodeEnv = (options: {
  readonly databaseUrl: string
  readonly jwtSecret: string
}) => {
  // Node i keeps its ports across restarts (a killed runner comes back at the same address).
  const ports = new Map<number, { readonly http: number; readonly runner: number }>()
  return (i: number) => {
    let p = ports.get(i)
    if (p === undefined) {
      p = { http: freePortSync(), runner: freePortSync() }
      ports.set(i, p)
    }
    return {
      DATABASE_URL: options.databaseUrl,
      VECTOR_STORE: "disabled",
      JWT_SECRET_KEY: options.jwtSecret,
      // Required in cluster modes (no key file per node): one key for the whole cluster.
      SQL_TOOL_SECRET_KEY: `sql-tool-${options.jwtSecret}`,
      HTTP_PORT: String(p.http),
      RUNNER_PORT: String(p.runner),
      RUNNER_ADVERTISE_HOST: "127.0.0.1",
      LOG_LEVEL: "ERROR"
    }
  }
}
