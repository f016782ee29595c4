/**
 * Where one persisted entity message's cost goes, single node in-process on PostgreSQL 15:
 * SQL statements and commits per message (statement log of a private database, commit
 * counter of pg_stat_database) and CPU per message (this Bun process and the database's
 * backends, from /proc). Not a `*.bench.ts`: a diagnostic for issue #19, run by hand:
 *
 *   bun test/bench/support/persistedProfile.ts [count] [storage...]
 *
 * `storage` is `library` (@effect/cluster's SqlMessageStorage) or `batched`
 * (src/cluster/BatchedMessageStorage.ts), with `+nocork` for node-postgres without our
 * patch's one-write-per-query (patches/pg@*.patch); several are measured alternately in one run.
 * Needs read access to the shared server's log (/var/log/postgresql, root here).
 */
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Option, Redacted } from "effect"
import { readFileSync, statSync } from "node:fs"
import { SQL } from "bun"
import { DeliveryProbe } from "../../../entities/DeliveryProbe.ts"
import { singleNodeClusterWith, type MessageStorageKind } from "../../../src/cluster/ClusterLive.ts"
import { AppConfig } from "../../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../../src/db/Database.ts"
import { DeliveryProbeLive } from "../../../src/system/DeliveryProbeLive.ts"
import { ADMIN_URL, createTestDatabase } from "../../support/postgres.ts"

const COUNT = Number(process.argv[2] ?? 2000)
const KINDS = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ["library"]

// node-postgres as without the patch: one socket write per protocol message.
// @ts-expect-error pg's internal Connection module has no type declarations (@types/pg covers the public API only)
const connectionProto: { cork: () => void; uncork: () => void } = (await import("pg/lib/connection.js")).default.prototype
const corkOn = { cork: connectionProto.cork, uncork: connectionProto.uncork }
const corking = (on: boolean) => {
  connectionProto.cork = on ? corkOn.cork : function() {}
  connectionProto.uncork = on ? corkOn.uncork : function() {}
}
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 2)
const LOG = process.env.PG_LOG ?? "/var/log/postgresql/postgresql-15-main.log"
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 64)
const ENTITIES = 200

const ticks = (pid: number) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
    return Number(f[11]) + Number(f[12]) // utime + stime, in clock ticks (100/s)
  } catch {
    return 0
  }
}

const measure = async (label: string) => {
  const kind = label.split("+")[0] as MessageStorageKind
  corking(!label.includes("+nocork"))
  const db = await createTestDatabase(`prof_${kind}`)
  const admin = new SQL(ADMIN_URL)
  await admin.unsafe(`ALTER DATABASE ${db.name} SET log_statement = 'all'`)
  const config = AppConfig.layerWith({ databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" })
  const runtime = ManagedRuntime.make(
    DeliveryProbeLive.pipe(
      Layer.provideMerge(singleNodeClusterWith(kind)),
      Layer.provideMerge(DatabaseLive),
      Layer.provide(config),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
    )
  )
  try {
    const send = (prefix: string, n: number) =>
      runtime.runPromise(Effect.gen(function*() {
        const probe = yield* DeliveryProbe.client
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => probe(`probe-${i % ENTITIES}`).Apply({ messageId: `${prefix}-${i}`, amount: 1 }),
          { concurrency: CONCURRENCY, discard: true }
        )
      }))
    await send("warm", ENTITIES * 2)
    await Bun.sleep(1500)
    const backends = async () =>
      (await admin.unsafe(`SELECT pid FROM pg_stat_activity WHERE datname = '${db.name}'`)).map((r: { pid: number }) => r.pid)
    const commits = async () =>
      Number((await admin.unsafe(`SELECT xact_commit FROM pg_stat_database WHERE datname = '${db.name}'`))[0].xact_commit)
    const logSize = () => statSync(LOG).size
    const pids = await backends()
    const pg0 = pids.reduce((a: number, p: number) => a + ticks(p), 0)
    const c0 = await commits()
    const l0 = logSize()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await send("m", COUNT)
    const wall = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const pg1 = pids.reduce((a: number, p: number) => a + ticks(p), 0)
    const l1 = logSize()
    await Bun.sleep(1500) // statistics reach pg_stat_database within a second
    const c1 = await commits()
    const text = await Bun.file(LOG).slice(l0, l1).text()
    // One entry per logged statement: its prefixed line and the continuation lines of a multi-line SQL text.
    const lines = text.split("\n")
    const statements: Array<string> = []
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].includes(`@${db.name} `) || !/ LOG: {2}(statement|execute [^:]*):/.test(lines[i])) continue
      let entry = lines[i].replace(/^.* LOG: {2}(statement|execute [^:]*): */, "")
      for (let j = i + 1; j < lines.length && !/^\d{4}-\d\d-\d\d /.test(lines[j]); j++) entry += ` ${lines[j]}`
      statements.push(entry)
    }
    const byKind = new Map<string, number>()
    for (const s of statements) {
      const sqlText = s.trim()
      const key = sqlText.split(/\s+/).slice(0, 3).join(" ").slice(0, 40)
      byKind.set(key, (byKind.get(key) ?? 0) + 1)
    }
    return {
      kind: label,
      rate: (COUNT / wall) * 1000,
      statementsPerMsg: statements.length / COUNT,
      commitsPerMsg: (c1 - c0) / COUNT,
      bunCpuMsPerMsg: (cpu.user + cpu.system) / 1000 / COUNT,
      pgCpuMsPerMsg: ((pg1 - pg0) * 10) / COUNT,
      top: [...byKind.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${(v / COUNT).toFixed(2)} ${k}`)
    }
  } finally {
    await runtime.dispose()
    await admin.close()
    await db.drop()
  }
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
    const r = await measure(kind)
    console.log(
      `${r.kind}: ${r.rate.toFixed(0)} msg/s, ${r.statementsPerMsg.toFixed(2)} statements/msg, ${r.commitsPerMsg.toFixed(2)} commits/msg, ` +
        `CPU ${r.bunCpuMsPerMsg.toFixed(2)} ms Bun + ${r.pgCpuMsPerMsg.toFixed(2)} ms PG per msg (load ${load()})\n  ${r.top.join("\n  ")}`
    )
  }
}
