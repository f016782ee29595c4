import { HttpServer } from "@effect/platform"
import { ConfigProvider, Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { PlatformLive } from "../../src/app/Platform.ts"
import { type SettingsOverrides, settingsWith } from "../../src/app/Settings.ts"
import { seedDataDir } from "./pgliteTemplate.ts"
import { waitFor } from "./process.ts"
import { makeTempDir } from "./tempDir.ts"

/**
 * The whole platform in this test process on a random port and a fresh
 * embedded database (or `databaseUrl` when given). Logs are silenced below
 * Error so test output stays readable. `env`: settings read from the environment
 * (`Config`) that have no override field, set for this platform only.
 */
export const startPlatform = async (overrides: SettingsOverrides = {}, env: Record<string, string> = {}) => {
  const tmp = makeTempDir("platform")
  if (overrides.databaseUrl === undefined) await seedDataDir(tmp.dir)
  const config = settingsWith({ httpHost: "127.0.0.1", httpPort: 0, dataDir: tmp.dir, ...overrides })
  const runtime = ManagedRuntime.make(
    PlatformLive.pipe(
      Layer.provideMerge(config),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
      Layer.provide(Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map(Object.entries(env))).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
      ))
    )
  )
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const baseUrl = `http://127.0.0.1:${address.port}`
  // Ready means healthy: shards are acquired shortly after the server listens.
  await waitFor(async () => (await fetch(`${baseUrl}/health`)).status === 200, 30_000)
  return {
    baseUrl,
    wsUrl: baseUrl.replace("http", "ws"),
    runtime,
    dataDir: tmp.dir,
    stop: async () => {
      await runtime.dispose()
      tmp.remove()
    }
  }
}

export type TestPlatform = Awaited<ReturnType<typeof startPlatform>>
