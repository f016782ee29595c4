import { afterAll, beforeAll, expect, test } from "bun:test"
import { Runner, RunnerAddress, RunnerStorage, ShardingConfig, SqlRunnerStorage } from "@effect/cluster"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { PeerDeathProbeLive } from "../../src/cluster/PeerDeathProbe.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { waitFor } from "../support/process.ts"

/**
 * PeerDeathProbe against the cluster's real runner table (SqlRunnerStorage on the local
 * PostgreSQL 15) and real TCP listeners standing in for peers: a peer whose port starts
 * refusing connections after it was seen listening is marked unhealthy; one that listens but
 * never answers (a paused or overloaded runner) and one that never listened yet (a runner
 * that registered before its server is up) are left alone.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let runtime: ManagedRuntime.ManagedRuntime<RunnerStorage.RunnerStorage, unknown> | undefined
const servers: Array<{ stop(closeActiveConnections?: boolean): void }> = []

/** A TCP listener that accepts and never writes: to a connect probe it is alive. */
const silentListener = () => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } })
  servers.push(server)
  return server
}
/** A port nothing listens on (taken from a listener that is closed at once). */
const freePort = () => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } })
  const port = server.port
  server.stop(true)
  return port
}
const runnerAt = (port: number) => Runner.make({ address: RunnerAddress.make("127.0.0.1", port), groups: ["default"], weight: 1 })

const health = () =>
  runtime!.runPromise(
    Effect.flatMap(RunnerStorage.RunnerStorage, (s) => s.getRunners).pipe(
      Effect.map((rows) => new Map(rows.map(([r, healthy]) => [r.address.port, healthy])))
    )
  )

let self: ReturnType<typeof silentListener>
let paused: ReturnType<typeof silentListener>
let dying: ReturnType<typeof silentListener>
let neverListened: number

beforeAll(async () => {
  db = await createTestDatabase("peer_probe")
  self = silentListener()
  paused = silentListener()
  dying = silentListener()
  neverListened = freePort()
  const sharding = ShardingConfig.layer({
    runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", self.port)),
    // Rows stay visible for the whole test (getRunners hides heartbeats older than this).
    shardLockExpiration: "10 minutes"
  })
  const storage = Layer.orDie(SqlRunnerStorage.layer).pipe(
    Layer.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 4 })),
    Layer.provide(sharding)
  )
  const registered = Layer.effectDiscard(
    Effect.flatMap(RunnerStorage.RunnerStorage, (s) =>
      Effect.forEach([self.port, paused.port, dying.port, neverListened], (port) => s.register(runnerAt(port), true))
    ).pipe(Effect.orDie)
  )
  // Registered first, then the probe starts (provideMerge builds storage and the rows before it).
  runtime = ManagedRuntime.make(
    PeerDeathProbeLive.pipe(Layer.provideMerge(registered.pipe(Layer.provideMerge(storage))), Layer.provide(sharding))
  )
  await runtime.runPromise(Effect.void)
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  for (const s of servers) s.stop(true)
  await db?.drop()
}, 60_000)

test("a peer that stops listening is marked unhealthy; a silent one and one that never listened are not", async () => {
  // Let the probe see every listener up for a few rounds (500 ms apart) before one dies.
  await Bun.sleep(2_000)
  expect(await health()).toEqual(new Map([[self.port, true], [paused.port, true], [dying.port, true], [neverListened, true]]))
  dying.stop(true)
  await waitFor(async () => (await health()).get(dying.port) === false, 30_000)
  // Several more rounds: a refusing port that never listened and an accepting one stay healthy.
  await Bun.sleep(2_000)
  const after = await health()
  expect(after.get(dying.port)).toBe(false)
  expect(after.get(paused.port)).toBe(true)
  expect(after.get(neverListened)).toBe(true)
  expect(after.get(self.port)).toBe(true)
}, 60_000)
