import { describe, expect, test } from "bun:test"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"

const poolSize = (overrides: Parameters<typeof AppConfig.layerWith>[0]) =>
  Effect.runPromise(Effect.provide(Effect.map(AppConfig, (c) => c.dbPoolSize), AppConfig.layerWith(overrides)))

describe("AppConfig defaults that depend on other settings", () => {
  // A benchmark or test that points the platform at a real PostgreSQL must get the pool a
  // DATABASE_URL deployment gets (10), not the embedded database's 3: with 3 the cluster bench's
  // persisted handlers queued for connections behind the storage's group statements.
  test("the pool size follows a DATABASE_URL given as an override, and an explicit size wins", async () => {
    expect(await poolSize({ databaseUrl: Option.none() })).toBe(3)
    expect(await poolSize({ databaseUrl: Option.some(Redacted.make("postgres://127.0.0.1/x")) })).toBe(10)
    expect(await poolSize({ databaseUrl: Option.some(Redacted.make("postgres://127.0.0.1/x")), dbPoolSize: 4 })).toBe(4)
  })
})
