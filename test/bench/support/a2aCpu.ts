/**
 * CPU per A2A SendMessage, by thread, on the local PostgreSQL 15 (or the embedded database with
 * EMBEDDED=1): the `a2a` bench's request (blocking SendMessage to an echo agent, same body), `count`
 * at 16 in flight after a warm-up, then 200 at 1 in flight for the p50; `rounds` times. Not a
 * `*.bench.ts`: a diagnostic for issue #19, run by hand and alternated with another tree:
 *
 *   bun test/bench/support/a2aCpu.ts [count=1500] [rounds=2]
 *
 * CPU is this process's (platform and client both), split by thread from /proc: the JavaScript
 * thread ("bun"), JavaScriptCore's JIT compiler ("JITWorker"), GC and allocator helpers.
 */
import { Option, Redacted } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { signUp } from "../../support/auth.ts"
import { startPlatform } from "../../support/platform.ts"
import { createTestDatabase } from "../../support/postgres.ts"

const COUNT = Number(process.argv[2] ?? 1500)
const ROUNDS = Number(process.argv[3] ?? 2)
const WARMUP = 200

/** CPU ticks (1/100 s) of each thread of this process, by thread name (numbered pools merged). */
const threadTicks = () => {
  const byName: Record<string, number> = {}
  for (const task of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[0-9]+$/, "")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      byName[name] = (byName[name] ?? 0) + Number(fields[11]) + Number(fields[12])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName
}

const db = process.env.EMBEDDED ? undefined : await createTestDatabase("a2a_cpu")
const platform = await startPlatform(db ? { databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" } : {})
try {
  const user = await signUp(platform.baseUrl)
  const created = await fetch(`${platform.baseUrl}/agents`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, templateId: "echo" })
  })
  const agent = (await created.json()) as { id: string }
  const url = `${platform.baseUrl}/agents/${agent.id}/a2a`
  const body = (i: number) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: i,
      method: "SendMessage",
      params: { message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text: `hello ${i}` }] } }
    })
  const measure = async (requests: number, concurrency: number) => {
    let next = 0
    const latencies: Array<number> = []
    const started = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++
        const sent = performance.now()
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "a2a-version": "1.0", ...user.headers },
          body: body(i)
        })
        const json = (await res.json()) as { result?: { task?: { status?: { state?: string } } } }
        latencies.push(performance.now() - sent)
        if (json.result?.task?.status?.state !== "TASK_STATE_COMPLETED") throw new Error(`call ${i} did not complete: ${JSON.stringify(json)}`)
      }
    }))
    latencies.sort((a, b) => a - b)
    return { rate: (requests / (performance.now() - started)) * 1000, p50: latencies[Math.floor(latencies.length / 2)] }
  }
  await measure(WARMUP, 16)
  for (let round = 0; round < ROUNDS; round++) {
    const before = threadTicks()
    const { rate } = await measure(COUNT, 16)
    const after = threadTicks()
    const perRequest = Object.entries(after)
      .map(([name, ticks]) => [name, ((ticks - (before[name] ?? 0)) * 10) / COUNT] as const)
      .filter(([, ms]) => ms >= 0.01)
    const total = perRequest.reduce((sum, [, ms]) => sum + ms, 0)
    const { p50 } = await measure(200, 1)
    console.log(
      `${db ? "PG15" : "PGlite"} c=16 ${rate.toFixed(1)} req/s, CPU ${total.toFixed(2)} ms/request (` +
        perRequest.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(", ") +
        `); c=1 p50 ${p50.toFixed(2)} ms`
    )
  }
} finally {
  await platform.stop()
  await db?.drop()
}
process.exit(0)
