/**
 * Where a lone A2A send's time goes, after many: `warm` blocking SendMessages to an echo agent at
 * 16 in flight (the tables fill), then `count` one at a time, each statement timed at the
 * platform's pool (node-postgres `Client#query`, call to answer). Prints the send's median, the
 * median of its phases (to the request statement, the request statement, between, the reply
 * statement, to the client's answer), each statement text's median, and CPU per send by thread.
 * Not a `*.bench.ts`: a diagnostic for issue #19, run by hand and alternated with another tree:
 *
 *   bun test/bench/support/sendPhases.ts [warm=4000] [count=300]
 *
 * On the embedded database by default; DATABASE_URL=auto runs it on a fresh database of the
 * local PostgreSQL 15.
 */
import Pg from "pg"
import { threadTicks } from "./threadCpu.ts"

const WARM = Number(process.argv[2] ?? 4000)
const COUNT = Number(process.argv[3] ?? 300)

type Timed = { readonly text: string; readonly start: number; end: number }
let timed: Array<Timed> = []

// Before the platform's modules load: its pool subclasses Client and calls this method.
const query = Pg.Client.prototype.query as (this: Pg.Client, ...args: Array<any>) => any
Pg.Client.prototype.query = function(this: Pg.Client, config: any, values?: any, callback?: any) {
  const entry: Timed = { text: String(typeof config === "string" ? config : config?.text ?? "").replace(/\s+/g, " ").trim().slice(0, 60), start: performance.now(), end: Number.NaN }
  timed.push(entry)
  const done = () => {
    entry.end = performance.now()
  }
  if (typeof callback === "function") {
    const answer = callback
    callback = (...args: Array<unknown>) => {
      done()
      return answer(...args)
    }
  }
  const result = query.call(this, config, values, callback)
  if (result && typeof result.then === "function") result.then(done, done)
  else if (config && typeof config.on === "function") {
    // A submittable (a Query object given to it): it reports on itself.
    config.on("end", done)
    config.on("error", done)
  }
  return result
} as typeof Pg.Client.prototype.query

const { Option, Redacted } = await import("effect")
const { startPlatform } = await import("../../support/platform.ts")
const { createTestDatabase } = await import("../../support/postgres.ts")
const { echoAgent, sendMessages } = await import("./a2aSendMessage.ts")

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

const db = process.env.DATABASE_URL === "auto" ? await createTestDatabase("send_phases") : undefined
const platform = await startPlatform(db ? { databaseUrl: Option.some(Redacted.make(db.url)) } : {})
try {
  const agent = await echoAgent(platform.baseUrl)
  await sendMessages(agent.url, agent.headers, WARM, 16)
  const totals: Array<number> = []
  const phases = { toRequest: [] as Array<number>, request: [] as Array<number>, between: [] as Array<number>, reply: [] as Array<number>, toAnswer: [] as Array<number> }
  const byText = new Map<string, Array<number>>()
  const before = threadTicks()
  for (let i = 0; i < COUNT; i++) {
    timed = []
    const start = performance.now()
    await sendMessages(agent.url, agent.headers, 1, 1)
    const end = performance.now()
    totals.push(end - start)
    const request = timed.find((t) => t.text.startsWith("WITH stored AS"))
    const reply = timed.find((t) => t.text.startsWith("WITH agent_finish AS"))
    if (request && reply) {
      phases.toRequest.push(request.start - start)
      phases.request.push(request.end - request.start)
      phases.between.push(reply.start - request.end)
      phases.reply.push(reply.end - reply.start)
      phases.toAnswer.push(end - reply.end)
    }
    for (const t of timed) byText.set(t.text, [...(byText.get(t.text) ?? []), t.end - t.start])
  }
  const after = threadTicks()
  console.log(`send p50 ${median(totals).toFixed(2)} ms (${COUNT} one at a time after ${WARM})`)
  console.log(Object.entries(phases).map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(" | "), "ms (medians)")
  for (const [text, times] of byText) console.log(`  ${times.length}× median ${median(times).toFixed(2)} ms  ${text}`)
  for (const [name, ticks] of Object.entries(after)) {
    const used = ticks - (before[name] ?? 0)
    if (used > 0) console.log(`  CPU ${name}: ${((used * 10) / COUNT).toFixed(2)} ms per send`)
  }
} finally {
  await platform.stop()
  await db?.drop()
}
