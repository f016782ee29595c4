import { RedisClient, type Subprocess } from "bun"
import { freePort } from "./freePort.ts"
import { killAndWait, waitFor } from "./process.ts"

/**
 * A redis-server of the test's own (its own port, nothing saved to disk), for fault tests that
 * stop and start Redis under the platform; the machine's shared Redis on 6379 is never touched.
 */
export interface PrivateRedis {
  readonly url: string
  readonly start: () => Promise<void>
  /** SIGKILL: Redis vanishes without closing its connections politely. */
  readonly stop: () => Promise<void>
}

export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let proc: Subprocess | undefined
  const start = async () => {
    proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdout: "ignore",
      stderr: "ignore"
    })
    const running = proc
    await waitFor(async () => {
      const probe = new RedisClient(url, { autoReconnect: false, connectionTimeout: 1_000 })
      try {
        return (await probe.send("PING", [])) === "PONG"
      } finally {
        probe.close()
      }
    }, 30_000, () => running.exitCode !== null)
  }
  await start()
  return {
    url,
    start,
    stop: async () => {
      if (proc !== undefined) await killAndWait(proc)
    }
  }
}
