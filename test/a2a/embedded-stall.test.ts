import { afterAll, describe, expect, test } from "bun:test"
import { signUp } from "../support/auth.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { spawnPlatform } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Issue #21: after the A2A TCK's quality tests and ListTasks traffic, the
 * embedded database stalled (every authenticated request hung, /health
 * reported database ok:false, SIGTERM was ignored). This drives the same
 * traffic shape against `bun run dev` on the embedded database: many
 * concurrent A2A calls, SSE streams aborted after their first frame, blocking
 * sends whose caller hangs up mid-flight, ListTasks and GetTask in between;
 * then the process must still answer, and end on SIGTERM within its budget.
 */
const tmp = makeTempDir("a2a-stall")
afterAll(() => tmp.remove())

const rpcBody = (method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id: crypto.randomUUID(), method, params })
const message = (text: string) => ({ messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text }] })

describe("embedded database under A2A interop traffic", () => {
  test("aborted streams, hung-up sends and ListTasks in parallel leave the database serving; SIGTERM ends the process", async () => {
    await seedDataDir(tmp.dir)
    const platform = await spawnPlatform({ DATA_DIR: tmp.dir, DB_POOL_SIZE: "3" })
    try {
      const owner = await signUp(platform.baseUrl)
      const created = await fetch(`${platform.baseUrl}/agents`, {
        method: "POST",
        headers: { ...owner.headers, "content-type": "application/json" },
        body: JSON.stringify({ projectId: owner.projectId, name: "Stall probe", description: "echo", provider: "local", model: "echo", skills: [] })
      })
      expect(created.status).toBe(201)
      const agentId = ((await created.json()) as { id: string }).id
      const endpoint = `${platform.baseUrl}/agents/${agentId}/a2a`
      const post = (body: string, signal?: AbortSignal) =>
        fetch(endpoint, { method: "POST", headers: { ...owner.headers, "content-type": "application/json" }, body, signal })

      const abortedStream = async () => {
        const controller = new AbortController()
        const res = await post(rpcBody("SendStreamingMessage", { message: message("stream then leave") }), controller.signal)
        // The client reads one event and goes away, as SSE clients of the kit do.
        await res.body?.getReader().read().catch(() => undefined)
        controller.abort()
      }
      const hungUpSend = async (afterMs: number) => {
        await post(rpcBody("SendMessage", { message: message("blocking, caller leaves") }), AbortSignal.timeout(afterMs)).then(
          (r) => r.text(),
          () => undefined
        ).catch(() => undefined)
      }
      const listTasks = async () => (await post(rpcBody("ListTasks", { pageSize: 20, historyLength: 1 }))).text()
      const getTask = async () => {
        const sent = (await (await post(rpcBody("SendMessage", { message: message("get me") }))).json()) as { result?: { task?: { id: string } } }
        const id = sent.result?.task?.id
        if (id !== undefined) await (await post(rpcBody("GetTask", { id }))).text()
      }

      for (let round = 0; round < 4; round++) {
        const calls: Array<Promise<unknown>> = []
        for (let i = 0; i < 12; i++) {
          calls.push(abortedStream(), hungUpSend(2 + ((i * 7) % 40)), listTasks())
          if (i % 3 === 0) calls.push(getTask())
        }
        await Promise.allSettled(calls)
      }

      // Afterwards: the database answers, authenticated A2A calls answer, a new task completes.
      const health = await fetch(`${platform.baseUrl}/health`, { signal: AbortSignal.timeout(10_000) })
      expect(((await health.json()) as { database: { ok: boolean } }).database.ok).toBe(true)
      const listed = (await (await post(rpcBody("ListTasks", { pageSize: 5 }), AbortSignal.timeout(10_000))).json()) as { result: { tasks: Array<unknown> } }
      expect(listed.result.tasks.length).toBeGreaterThan(0)
      const sent = (await (await post(rpcBody("SendMessage", { message: message("still there?") }), AbortSignal.timeout(20_000))).json()) as {
        result: { task: { status: { state: string } } }
      }
      expect(sent.result.task.status.state).toBe("TASK_STATE_COMPLETED")

      // SIGTERM ends the process within its shutdown budget (seconds, not a SIGKILL).
      const started = Date.now()
      platform.proc.kill("SIGTERM")
      const exited = await Promise.race([platform.proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)])
      expect(exited).toBe(true)
      expect(Date.now() - started).toBeLessThan(15_000)
    } finally {
      await platform.kill("SIGKILL")
    }
  }, 240_000)
})
