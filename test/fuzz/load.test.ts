import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as fs from "node:fs"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { spawnPlatform } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * ≥ 10,000 malformed and valid requests across every REST route of the
 * OpenAPI document, the A2A JSON-RPC endpoints and the WebSocket endpoints,
 * against one real platform process: no 5xx, the process stays up, memory
 * stays bounded. Inputs come from a seeded PRNG so a failure can be replayed.
 */
const REQUESTS = 10_000
const CONCURRENCY = 32
const SEED = Number(process.env.FUZZ_SEED ?? 20261125)

let platform: Awaited<ReturnType<typeof spawnPlatform>>
const tmp = makeTempDir("fuzz")
beforeAll(async () => {
  await seedDataDir(tmp.dir)
  platform = await spawnPlatform({ DATA_DIR: tmp.dir, LOG_LEVEL: "ERROR", RATE_LIMIT_ENABLED: "false" })
}, 60_000)
afterAll(async () => {
  await platform?.kill("SIGKILL")
  tmp.remove()
})

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024

const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const nasty = [
  "", " ", "null", "0", "-1", "1e309", "NaN", "true", "[]", "{}", "../../../etc/passwd", "' OR 1=1 --",
  "\u0000", "😀".repeat(50), "<script>alert(1)</script>", "%00", "a".repeat(5000), "${jndi:ldap://x}",
  "00000000-0000-0000-0000-000000000000", crypto.randomUUID()
]

// Issue #17's inputs, built once: a NUL in JSON strings and keys (Postgres text cannot hold it),
// arrays and objects nested 100k deep, a real multipart body (sent on JSON routes too), a URL-
// encoded NUL, and a SQL-ish name with NUL.
const DEEP_ARRAY = "[".repeat(100_000) + "]".repeat(100_000)
const DEEP_OBJECT = "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000)
const MULTIPART = "--x\r\nContent-Disposition: form-data; name=\"projectId\"\r\n\r\np\r\n" +
  "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n"
const NUL_BODIES = [
  JSON.stringify({ name: "a\u0000b", projectId: "p", text: "x\u0000", systemPrompt: "\u0000" }),
  JSON.stringify({ ["k\u0000"]: 1, jobId: "j\u0000", durationMs: 1 }),
  JSON.stringify({ transport: { type: "stdio", command: "bun", args: [], env: { K: "\u0000" } }, metadata: { m: "\u0000" } }),
  JSON.stringify({ spans: [{ traceId: "0".repeat(32), spanId: "1".repeat(16), service: "s", operation: "\u0000", startTime: "2026-01-01T00:00:00Z", durationMs: 1 }] }),
  "name=a%00b&projectId=p"
]

const bodies = (rand: () => number): Array<string> => [
  DEEP_ARRAY, DEEP_OBJECT, MULTIPART, ...NUL_BODIES,
  "{", "}", "[", "{\"a\":", "not json", "\"str\"", "123", "null", "[]", "{}",
  JSON.stringify({ [pick(rand, nasty)]: pick(rand, nasty) }),
  JSON.stringify({ name: rand() > 0.5 ? 42 : null, email: pick(rand, nasty), password: pick(rand, nasty), projectId: pick(rand, nasty) }),
  JSON.stringify({ jsonrpc: "2.0", id: 1, method: pick(rand, ["SendMessage", "message/send", "tasks/get", "nope", ""]), params: pick(rand, [null, 1, "x", {}, { message: {} }]) }),
  JSON.stringify(Array.from({ length: 50 }, () => ({ x: rand() }))),
  JSON.stringify({ deep: JSON.parse("[".repeat(200) + "]".repeat(200)) })
]

function pick<T>(rand: () => number, xs: ReadonlyArray<T>): T {
  return xs[Math.floor(rand() * xs.length)]
}

describe("fuzz and load against one node", () => {
  test(`${REQUESTS} malformed and valid requests: no 5xx, alive, memory bounded`, async () => {
    const rand = prng(SEED)
    const spec = await (await fetch(`${platform.baseUrl}/openapi.json`)).json()
    const routes: Array<{ method: string; path: string }> = []
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) routes.push({ method: method.toUpperCase(), path })
    }
    // JSON-RPC and other routes outside the HttpApi document.
    for (const path of ["/a2a", "/a2a/message", "/rpc", "/mcp", "/agents/x/a2a"]) routes.push({ method: "POST", path })
    expect(routes.length).toBeGreaterThan(5)

    // A real user for authenticated valid requests, when the gateway is present.
    let token = ""
    const reg = await fetch(`${platform.baseUrl}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `fuzz-${crypto.randomUUID()}@example.com`, password: "Correct-Horse-Battery-9", name: "Fuzz" })
    })
    let agentId = "x"
    if (reg.status < 300) {
      const registered = (await reg.json()) as { accessToken?: string; projectId?: string }
      token = registered.accessToken ?? ""
      const agent = await fetch(`${platform.baseUrl}/agents`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ projectId: registered.projectId, name: "fuzz", systemPrompt: "be brief" })
      })
      if (agent.status === 201) agentId = ((await agent.json()) as { id: string }).id
    }

    const rssBefore = rssMb(platform.proc.pid)
    const statuses = new Map<number, number>()
    const fiveXX: Array<string> = []
    let sent = 0
    const one = async () => {
      const route = pick(rand, routes)
      const path = route.path.replace(/\{[^}]+\}|:[A-Za-z]+/g, () => encodeURIComponent(pick(rand, nasty)))
      const method = rand() < 0.85 ? route.method : pick(rand, ["GET", "POST", "PUT", "DELETE", "PATCH"])
      const headers: Record<string, string> = { "content-type": pick(rand, ["application/json", "text/plain", "application/ndjson", "multipart/form-data; boundary=x"]) }
      const auth = rand()
      if (auth < 0.4 && token) headers.authorization = `Bearer ${token}`
      // Header values must be printable ASCII (fetch refuses others before sending).
      else if (auth < 0.6) headers.authorization = `Bearer ${encodeURIComponent(pick(rand, nasty)).slice(0, 2000)}`
      else if (auth < 0.7) headers.authorization = pick(rand, ["Basic x", "Bearer", "bearer eyJhbGciOiJub25lIn0.e30."])
      const body = method === "GET" || method === "HEAD" ? undefined : pick(rand, bodies(rand))
      const label = `${method} ${path.slice(0, 80)} body=${(body ?? "").slice(0, 60)}`
      try {
        const res = await fetch(`${platform.baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) })
        await res.arrayBuffer()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        if (res.status >= 500 && res.status !== 503) fiveXX.push(`${res.status} ${label}`)
      } catch (e) {
        fiveXX.push(`network error ${label}: ${e instanceof Error ? e.message : e}`)
      }
      sent++
    }
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++) await one()
    }
    const wsGarbage = async () => {
      for (const path of ["/rpc/ws", "/ws/chat", "/ws/events"]) {
        for (let i = 0; i < 20; i++) {
          await new Promise<void>((resolve) => {
            const ws = new WebSocket(`${platform.wsUrl}${path}${token && i % 2 ? `?access_token=${token}` : ""}`)
            const done = () => resolve()
            ws.onopen = () => {
              for (const frame of bodies(rand)) ws.send(frame)
              // More chats than one socket may run (WS_MAX_CHATS_PER_SOCKET): the excess is refused.
              for (let c = 0; c < 30; c++) ws.send(JSON.stringify({ type: "chat", agentId, text: "hi" }))
              ws.send(new Uint8Array([0xff, 0x00, 0x13]))
              setTimeout(() => ws.close(), 20)
            }
            ws.onclose = done
            ws.onerror = done
            setTimeout(done, 2000)
          })
          sent++
        }
      }
    }
    await Promise.all([...Array.from({ length: CONCURRENCY }, () => worker(Math.ceil(REQUESTS / CONCURRENCY))), wsGarbage()])

    expect(sent).toBeGreaterThanOrEqual(REQUESTS)
    expect(fiveXX.slice(0, 20)).toEqual([])
    const health = await fetch(`${platform.baseUrl}/health`)
    expect(health.status).toBe(200)
    expect(platform.proc.exitCode).toBeNull()
    Bun.gc(true)
    const rssAfter = rssMb(platform.proc.pid)
    console.info(`fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`)
    // Bounded: growth well under what buffering every request body (or a leak per request) would cost.
    expect(rssAfter - rssBefore).toBeLessThan(400)
  }, 600_000)
})
