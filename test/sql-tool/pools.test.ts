import { afterAll, beforeAll, expect, test } from "bun:test"
import { Deferred, Effect, Either, Fiber, Layer } from "effect"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { parseConnectionString } from "../../src/sql-tool/ConnectionTarget.ts"
import { SqlToolConfig } from "../../src/sql-tool/SqlToolConfig.ts"
import { runTest } from "../support/effect.ts"
import { runNextTick } from "../support/testClock.ts"
import { createSqliteTarget, type Target } from "./targets.ts"

let sqlite: Target
const POOL_IDLE_MS = 60_000
/** ConnectionPools sweeps every min(poolIdleMs, 30 s). */
const SWEEP_MS = 30_000
// Built inside each test's TestContext, so the sweeper runs on the TestClock.
const Pools = ConnectionPools.Default.pipe(Layer.provide(SqlToolConfig.layerWith({ poolIdleMs: POOL_IDLE_MS })))

beforeAll(async () => {
  sqlite = await createSqliteTarget()
}, 30_000)
afterAll(() => sqlite.drop())

const target = () => Effect.succeed({ target: Either.getOrThrow(parseConnectionString(sqlite.url)), writable: false })

test("a pool is opened once per connection id and closed after it sits idle past poolIdleMs", () =>
  runTest(Effect.gen(function*() {
    const pools = yield* ConnectionPools
    // Concurrent first uses share one pool.
    yield* Effect.all([1, 2, 3, 4].map(() => pools.withDriver("c1", target(), (d) => d.ping)), { concurrency: "unbounded" })
    expect(yield* pools.openCount).toBe(1)
    // Sweeps at 30 s and 60 s: idle for exactly poolIdleMs is not yet past it.
    yield* runNextTick(SWEEP_MS)
    yield* runNextTick(SWEEP_MS)
    expect(yield* pools.openCount).toBe(1)
    yield* runNextTick(SWEEP_MS)
    expect(yield* pools.openCount).toBe(0)
    // And reopens on the next use.
    yield* pools.withDriver("c1", target(), (d) => d.ping)
    expect(yield* pools.openCount).toBe(1)
  }).pipe(Effect.provide(Pools))))

test("a pool in use is not closed as idle; its idle time starts when the last use ends", () =>
  runTest(Effect.gen(function*() {
    const pools = yield* ConnectionPools
    const inUse = yield* Deferred.make<void>()
    const done = yield* Deferred.make<void>()
    const user = yield* Effect.fork(pools.withDriver("c2", target(), (d) =>
      d.ping.pipe(Effect.zipRight(Deferred.succeed(inUse, undefined)), Effect.zipRight(Deferred.await(done)))
    ))
    // The clock moves only once the pool is open and in use: an open in flight would see its timeouts pass.
    yield* Deferred.await(inUse)
    // In use for four sweeps, 120 s: twice poolIdleMs.
    for (let i = 0; i < 4; i++) yield* runNextTick(SWEEP_MS)
    expect(yield* pools.openCount).toBe(1)
    yield* Deferred.succeed(done, undefined)
    yield* Fiber.join(user)
    yield* runNextTick(SWEEP_MS)
    yield* runNextTick(SWEEP_MS)
    expect(yield* pools.openCount).toBe(1)
    yield* runNextTick(SWEEP_MS)
    expect(yield* pools.openCount).toBe(0)
  }).pipe(Effect.provide(Pools))))
