import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, Fiber } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ToolResult } from "../../src/domain/Tool.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { isAlive, makeSessionHarness, referenceServer, startEverythingHttp, stdioServer } from "./support.ts"

// Real processes on a shared 2-core machine: generous per-test budgets.
setDefaultTimeout(30_000)

const fixture = path.join(import.meta.dir, "fixtures/pagedServer.ts")
const files = makeTempDir("mcp-fs")
fs.writeFileSync(path.join(files.dir, "hello.txt"), "hello from the filesystem server")
const memoryFile = path.join(files.dir, "memory.jsonl")

let http: Awaited<ReturnType<typeof startEverythingHttp>>
let harness: Awaited<ReturnType<typeof makeSessionHarness>>
const run: (typeof harness)["run"] = (f) => harness.run(f)

const textOf = (r: ToolResult) => r.content.map((b) => (b.type === "text" ? b.text : "")).join("")

/** The status's pid, which every stdio session has once connected. */
const pidOf = (s: { readonly pid: number | null }) => {
  if (s.pid === null) throw new Error("no process")
  return s.pid
}

beforeAll(async () => {
  http = await startEverythingHttp()
  harness = await makeSessionHarness([
    stdioServer("everything", referenceServer.everything, ["stdio"]),
    stdioServer("files", referenceServer.filesystem, [files.dir]),
    stdioServer("memory", referenceServer.memory, [], { MEMORY_FILE_PATH: memoryFile }),
    stdioServer("paged", fixture),
    stdioServer("broken", "/definitely/not/a/server.js"),
    { id: "remote", projectId: "p1", name: "remote", transport: { type: "http", url: http.url, headers: {} } }
  ])
  // The first message waits for the runner to acquire its shards.
  await run((c) => c("memory").Status())
}, 90_000)

afterAll(async () => {
  await harness?.dispose()
  await http?.stop()
  files.remove()
})

describe("McpSession entity over stdio (server-everything)", () => {
  test("connects, lists tools / resources / prompts and calls a tool", async () => {
    const status = await run((c) => c("everything").Connect())
    expect(status.connected).toBe(true)
    expect(status.serverInfo?.name).toContain("everything")
    expect(isAlive(pidOf(status))).toBe(true)
    const tools = await run((c) => c("everything").ListTools())
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["echo", "get-sum", "trigger-long-running-operation"]))
    expect((await run((c) => c("everything").ListResources())).length).toBeGreaterThan(0)
    expect((await run((c) => c("everything").ListPrompts())).length).toBeGreaterThan(0)
    const sum = await run((c) => c("everything").CallTool({ name: "get-sum", arguments: { a: 19, b: 23 } }))
    expect(sum).toEqual({ content: [{ type: "text", text: "The sum of 19 and 23 is 42." }], isError: false })
  })

  test("normalises structured content, images and resource links", async () => {
    const weather = await run((c) => c("everything").CallTool({ name: "get-structured-content", arguments: { location: "Chicago" } }))
    expect(weather.structuredContent).toMatchObject({ temperature: expect.any(Number) })
    const image = await run((c) => c("everything").CallTool({ name: "get-tiny-image", arguments: {} }))
    const img = image.content.find((b) => b.type === "image")
    if (img?.type !== "image") throw new Error("no image block")
    expect(img.mimeType).toBe("image/png")
    expect(Buffer.from(img.data, "base64").subarray(1, 4).toString()).toBe("PNG")
    const links = await run((c) => c("everything").CallTool({ name: "get-resource-links", arguments: { count: 2 } }))
    const linked = links.content.flatMap((b) => (b.type === "resource_link" ? [b.uri] : []))
    expect(linked).toHaveLength(2)
    expect(linked[0]).toStartWith("demo://")
  })

  test("invalid arguments are refused before the call, naming the field; unknown tool is ToolNotFound", async () => {
    const err = await run((c) => Effect.flip(c("everything").CallTool({ name: "get-sum", arguments: { a: "one" } })))
    if (err._tag !== "ToolInvalidArguments") throw new Error(`expected ToolInvalidArguments, got ${err._tag}`)
    expect(err.issues.map((i) => i.path).sort()).toEqual(["a", "b"])
    const missing = await run((c) => Effect.flip(c("everything").CallTool({ name: "no-such-tool", arguments: {} })))
    expect(missing._tag).toBe("ToolNotFound")
  })

  test("the timeout restarts on progress notifications; silence past it is ToolTimeout", async () => {
    // 1.2 s of work reporting progress every 0.2 s passes a 700 ms inactivity budget...
    const done = await run((c) =>
      c("everything").CallTool({ name: "trigger-long-running-operation", arguments: { duration: 1.2, steps: 6 }, timeoutMs: 700 }))
    expect(textOf(done)).toContain("completed")
    // ...the same work in one silent step does not.
    const silent = await run((c) =>
      Effect.flip(c("everything").CallTool({ name: "trigger-long-running-operation", arguments: { duration: 1.2, steps: 1 }, timeoutMs: 700 })))
    if (silent._tag !== "ToolTimeout") throw new Error(`expected ToolTimeout, got ${silent._tag}`)
    expect(silent.timeoutMs).toBe(700)
  })

  test("interrupting the caller cancels the call in the entity", async () => {
    await run((c) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(c("everything").CallTool({ name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } }))
        yield* Effect.sleep("300 millis")
        expect((yield* c("everything").Status()).inFlight).toBe(1)
        yield* Fiber.interrupt(fiber)
      }))
    await waitFor(async () => (await run((c) => c("everything").Status())).inFlight === 0, 5_000)
  })

  test("kill -9 of the server mid-call: the call fails clearly, the session reconnects with a new process", async () => {
    const before = await run((c) => c("everything").Status())
    const pending = run((c) =>
      Effect.flip(c("everything").CallTool({ name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } })))
    await waitFor(async () => (await run((c) => c("everything").Status())).inFlight === 1, 5_000)
    process.kill(pidOf(before), "SIGKILL")
    const failure = await pending
    expect(failure._tag).toBe("ToolExecutionFailed")
    expect(failure.message).toMatch(/closed|exited/)
    // Reconnected in the background (no call needed) with a fresh process.
    await waitFor(async () => {
      const s = await run((c) => c("everything").Status())
      return s.connected && s.pid !== before.pid
    }, 15_000)
    const after = await run((c) => c("everything").Status())
    expect(after.connects).toBe(before.connects + 1)
    const echo = await run((c) => c("everything").CallTool({ name: "echo", arguments: { message: "back" } }))
    expect(textOf(echo)).toContain("back")
  })
})

describe("McpSession entity: other servers", () => {
  test("paged lists are followed to the end (tools, resources, prompts)", async () => {
    expect(await run((c) => c("paged").ListTools())).toHaveLength(25)
    expect(await run((c) => c("paged").ListResources())).toHaveLength(15)
    const prompts = await run((c) => c("paged").ListPrompts())
    expect(prompts).toHaveLength(12)
    expect(prompts[0]?.arguments[0]).toEqual({ name: "x", required: true })
    const r = await run((c) => c("paged").CallTool({ name: "tool-22", arguments: { n: 21 } }))
    expect(r.structuredContent).toEqual({ doubled: 42 })
  })

  test("a hung tool ends in ToolTimeout; a server that dies in a call fails it and the next call reconnects", async () => {
    const hung = await run((c) => Effect.flip(c("paged").CallTool({ name: "hang", arguments: {}, timeoutMs: 300 })))
    expect(hung._tag).toBe("ToolTimeout")
    const before = await run((c) => c("paged").Status())
    const crashed = await run((c) => Effect.flip(c("paged").CallTool({ name: "crash", arguments: {} })))
    expect(crashed._tag).toBe("ToolExecutionFailed")
    expect(crashed.message).toContain("paged")
    const next = await run((c) => c("paged").CallTool({ name: "tool-1", arguments: { n: 2 } }))
    expect(textOf(next)).toBe("tool-1:4")
    const after = await run((c) => c("paged").Status())
    expect(after.pid).not.toBe(before.pid)
  })

  test("server-filesystem reads a file of its allowed directory", async () => {
    const r = await run((c) => c("files").CallTool({ name: "read_text_file", arguments: { path: path.join(files.dir, "hello.txt") } }))
    expect(textOf(r)).toBe("hello from the filesystem server")
    const outside = await run((c) => c("files").CallTool({ name: "read_text_file", arguments: { path: "/etc/hostname" } }))
    expect(outside.isError).toBe(true)
  })

  test("server-memory keeps a knowledge graph across calls", async () => {
    await run((c) =>
      c("memory").CallTool({
        name: "create_entities",
        arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }] }
      }))
    const graph = await run((c) => c("memory").CallTool({ name: "read_graph", arguments: {} }))
    expect(JSON.stringify(graph.structuredContent ?? graph.content)).toContain("wrote the first program")
  })

  test("a server that cannot start fails clearly", async () => {
    const err = await run((c) => Effect.flip(c("broken").Connect()))
    expect(err._tag).toBe("ToolExecutionFailed")
    expect(err.message).toContain("could not connect")
    const status = await run((c) => c("broken").Status())
    expect(status.connected).toBe(false)
    expect(status.lastError).toContain("could not connect")
  })
})

describe("McpSession entity over Streamable HTTP (server-everything)", () => {
  test("calls tools; after the server restarts the next call reconnects", async () => {
    expect(http.proc.exitCode).toBeNull()
    const r = await run((c) => c("remote").CallTool({ name: "echo", arguments: { message: "over http" } }))
    expect(textOf(r)).toContain("over http")
    const port = new URL(http.url).port
    await http.stop()
    const down = await run((c) => Effect.flip(c("remote").CallTool({ name: "echo", arguments: { message: "x" } })))
    expect(down._tag).toBe("ToolExecutionFailed")
    // Same port, new process: the old HTTP session is gone, a new one is opened.
    const proc = Bun.spawn(["bun", referenceServer.everything, "streamableHttp"], {
      env: { ...process.env, PORT: port },
      stdout: "ignore",
      stderr: "ignore"
    })
    http = { url: http.url, proc, stop: async () => { proc.kill("SIGKILL"); await proc.exited } }
    await waitFor(async () => (await fetch(http.url)).status > 0, 20_000)
    const again = await run((c) => c("remote").CallTool({ name: "get-sum", arguments: { a: 1, b: 1 } }))
    expect(textOf(again)).toContain("is 2")
    expect((await run((c) => c("remote").Status())).connects).toBe(2)
  })
})

describe("McpSession entity lifecycle", () => {
  test("an idle session is passivated and its server process closed; shutdown closes the rest", async () => {
    const idle = await makeSessionHarness([
      stdioServer("idle", referenceServer.memory, [], { MEMORY_FILE_PATH: memoryFile }),
      stdioServer("busy", referenceServer.memory, [], { MEMORY_FILE_PATH: memoryFile })
    ], { tools: { mcpIdleTimeoutMs: 500 } })
    try {
      const pid = pidOf(await idle.run((c) => c("idle").Connect()))
      // The cluster's reaper looks every 5 s at the earliest.
      await waitFor(() => !isAlive(pid), 20_000)
      // A new message activates a fresh instance: no connection until it is needed.
      const fresh = await idle.run((c) => c("idle").Status())
      expect(fresh).toMatchObject({ connected: false, connects: 0 })
      const busyPid = pidOf(await idle.run((c) => c("busy").Connect()))
      await idle.dispose()
      await waitFor(() => !isAlive(busyPid), 10_000)
    } finally {
      await idle.dispose()
    }
  })
})
