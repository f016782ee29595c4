import { afterAll, beforeAll, expect, test } from "bun:test"
import { Effect, Either, Layer } from "effect"
import { ConnectionPools } from "../../src/sql-tool/ConnectionPools.ts"
import { parseConnectionString } from "../../src/sql-tool/ConnectionTarget.ts"
import { SqlToolConfig } from "../../src/sql-tool/SqlToolConfig.ts"
import { suiteRuntime } from "../support/effect.ts"
import { createSqliteTarget, type Target } from "./targets.ts"

let sqlite: Target
const rt = suiteRuntime(ConnectionPools.Default.pipe(Layer.provide(SqlToolConfig.layerWith({ poolIdleMs: 500 }))))

beforeAll(async () => {
  sqlite = await createSqliteTarget()
}, 30_000)
afterAll(async () => {
  await rt.dispose()
  await sqlite.drop()
})

const target = () => Effect.succeed({ target: Either.getOrThrow(parseConnectionString(sqlite.url)), writable: false })

test("a pool is opened once per connection id and closed after it sits idle", async () => {
  const opened = await rt.runPromise(Effect.gen(function*() {
    const pools = yield* ConnectionPools
    // Concurrent first uses share one pool.
    yield* Effect.all([1, 2, 3, 4].map(() => pools.withDriver("c1", target(), (d) => d.ping)), { concurrency: "unbounded" })
    return yield* pools.openCount
  }))
  expect(opened).toBe(1)
  await Bun.sleep(2_500)
  expect(await rt.runPromise(Effect.flatMap(ConnectionPools, (p) => p.openCount))).toBe(0)
  // And reopens on the next use.
  await rt.runPromise(Effect.flatMap(ConnectionPools, (p) => p.withDriver("c1", target(), (d) => d.ping)))
  expect(await rt.runPromise(Effect.flatMap(ConnectionPools, (p) => p.openCount))).toBe(1)
})

test("a pool in use is not closed as idle", async () => {
  const stillOpen = await rt.runPromise(Effect.flatMap(ConnectionPools, (pools) =>
    pools.withDriver("c2", target(), () => Effect.zipRight(Effect.sleep("1800 millis"), pools.openCount))
  ))
  expect(stillOpen).toBeGreaterThanOrEqual(1)
})
