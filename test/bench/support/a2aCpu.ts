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
import { SQL } from "bun"
import { readdirSync, readFileSync } from "node:fs"
import { startPlatform } from "../../support/platform.ts"
import { createTestDatabase } from "../../support/postgres.ts"
import { echoAgent, sendMessages } from "./a2aSendMessage.ts"
import { threadTicks } from "./threadCpu.ts"

const COUNT = Number(process.argv[2] ?? 1500)
const ROUNDS = Number(process.argv[3] ?? 2)
const WARMUP = 200

/** CPU ticks of every PostgreSQL process on the machine (backends, WAL writer, checkpointer). */
const postgresTicks = () => {
  let ticks = 0
  for (const pid of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      if (!stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).startsWith("postgres")) continue
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks
}

const db = process.env.EMBEDDED ? undefined : await createTestDatabase("a2a_cpu")
const stats = db ? new SQL(db.url, { max: 1 }) : undefined
/** Commits in the test database so far (PostgreSQL publishes them within a second). */
const commitsSoFar = async () => {
  if (!stats) return 0
  await Bun.sleep(1100)
  const [row] = await stats`SELECT xact_commit::int AS commits FROM pg_stat_database WHERE datname = current_database()`
  return Number(row.commits)
}
const platform = await startPlatform(db ? { databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" } : {})
try {
  const { url, headers } = await echoAgent(platform.baseUrl)
  const measure = async (requests: number, concurrency: number) => {
    const { rate, latencies } = await sendMessages(url, headers, requests, concurrency)
    const sorted = [...latencies].sort((a, b) => a - b)
    return { rate, p50: sorted[Math.floor(sorted.length / 2)] }
  }
  await measure(WARMUP, 16)
  for (let round = 0; round < ROUNDS; round++) {
    const commitsBefore = await commitsSoFar()
    const before = threadTicks()
    const postgresBefore = postgresTicks()
    const { rate } = await measure(COUNT, 16)
    const after = threadTicks()
    const postgres = ((postgresTicks() - postgresBefore) * 10) / COUNT
    const commits = ((await commitsSoFar()) - commitsBefore) / COUNT
    const perRequest = Object.entries(after)
      .map(([name, ticks]) => [name, ((ticks - (before[name] ?? 0)) * 10) / COUNT] as const)
      .filter(([, ms]) => ms >= 0.01)
    const total = perRequest.reduce((sum, [, ms]) => sum + ms, 0)
    const { p50 } = await measure(200, 1)
    console.log(
      `${db ? "PG15" : "PGlite"} c=16 ${rate.toFixed(1)} req/s, CPU ${total.toFixed(2)} ms/request (` +
        perRequest.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(", ") +
        `), PostgreSQL ${postgres.toFixed(2)} ms/request, ${commits.toFixed(2)} commits/request; c=1 p50 ${p50.toFixed(2)} ms`
    )
  }
} finally {
  await platform.stop()
  await stats?.close()
  await db?.drop()
}
process.exit(0)
