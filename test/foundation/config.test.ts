import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { freePortSync } from "../support/freePort.ts"

const root = path.resolve(import.meta.dir, "../..")

/** `bun run src/main.ts` with one setting changed: its exit code and output, or a timeout. */
const start = async (env: Record<string, string>) => {
  const proc = Bun.spawn(["bun", "run", "src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "config-test-")),
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(freePortSync()),
      ...env
    },
    stdout: "pipe",
    stderr: "pipe"
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000)
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text()
  ])
  clearTimeout(timer)
  return { code, output: `${stdout}${stderr}`, stderr }
}

describe("a bad setting stops the process with one line naming the variable and the allowed values", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["HTTP_PORT", "abc", "1 to 65535"],
    ["VECTOR_STORE", "maybe", "required, disabled"],
    ["TRACE_TRIVIAL_SAMPLE_RATIO", "5", "from 0 to 1"],
    // The logger reads LOG_LEVEL itself: the line must not depend on it.
    ["LOG_LEVEL", "LOUD", "INFO, WARN"],
    ["DB_POOL_SIZE", "-3", "positive integer"],
    ["RAG_CHUNK_TOKENS", "0", "positive integer"],
    ["A2A_SSE_KEEPALIVE_SECONDS", "soon", "positive integer"]
  ]
  for (const [name, value, allowed] of cases) {
    test(`${name}=${value}`, async () => {
      const started = performance.now()
      const { code, stderr } = await start({ [name]: value })
      expect(code).toBe(1)
      const lines = stderr.split("\n").filter((line) => line.includes(name))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`start-up failed: invalid setting ${name}`)
      expect(lines[0]).toContain(allowed)
      expect(lines[0]).toContain(JSON.stringify(value))
      expect(performance.now() - started).toBeLessThan(10_000)
    }, 20_000)
  }

  test("every bad setting is named on the one line", async () => {
    const { code, stderr } = await start({ HTTP_PORT: "0", MAX_BODY_BYTES: "lots" })
    expect(code).toBe(1)
    const lines = stderr.split("\n").filter((line) => line.startsWith("start-up failed"))
    expect(lines).toHaveLength(1)
    for (const name of ["HTTP_PORT", "MAX_BODY_BYTES"]) expect(lines[0]).toContain(`invalid setting ${name}`)
  }, 20_000)
})
