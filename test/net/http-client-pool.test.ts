import { describe, expect, test } from "bun:test"
import { resolve } from "node:path"
import packageJson from "../../package.json"

/**
 * Bun's outbound pool (src/net/HttpClientPool.ts): 256 requests per process by default, open
 * response streams included, the rest queued whoever sent them. `bun run dev` and `bun run
 * runner` start the platform with a larger one; checked here against Bun itself.
 */
const probe = (pool: string | undefined) => {
  const env: Record<string, string | undefined> = { ...process.env, STREAMS: "256", BUN_CONFIG_MAX_HTTP_REQUESTS: pool }
  if (pool === undefined) delete env.BUN_CONFIG_MAX_HTTP_REQUESTS
  const run = Bun.spawnSync(["bun", resolve(import.meta.dir, "fixtures/poolProbe.ts")], { env, stdout: "pipe", stderr: "pipe" })
  return run.stdout.toString().trim()
}

/** The pool a package.json script starts the platform with when the operator sets none. */
const scriptPool = (script: string) => /BUN_CONFIG_MAX_HTTP_REQUESTS=\$\{BUN_CONFIG_MAX_HTTP_REQUESTS:-(\d+)\}/.exec(script)?.[1]

describe("Bun's outbound pool", () => {
  test("256 open streams queue every other request by Bun's default, not in the pool the platform's scripts start with", () => {
    const pool = scriptPool(packageJson.scripts.dev)
    expect(pool).toBeDefined()
    expect(scriptPool(packageJson.scripts.runner)).toBe(pool)
    expect(Number(pool)).toBeGreaterThanOrEqual(1024)
    expect(probe(undefined)).toBe("queued")
    expect(probe(pool)).toBe("ok")
  }, 30_000)
})
