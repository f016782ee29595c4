import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Chunk, Effect, Stream } from "effect"
import { type ConnectionOptions, createPlatformClient, PlatformClient, type PlatformPromiseClient, PlatformRpcs } from "../../src/client/index.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { runLive } from "../support/effect.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { withRpcClient, wsProtocol } from "../support/rpcClient.ts"

let platform: TestPlatform
let user: SignedUp
let promise: PlatformPromiseClient
beforeAll(async () => {
  platform = await startPlatform()
  user = await signUp(platform.baseUrl)
  promise = createPlatformClient({ baseUrl: platform.baseUrl, token: user.token })
}, 90_000)
afterAll(async () => {
  await promise.close()
  await platform.stop()
}, 30_000)

const options = (transport: "http" | "websocket"): ConnectionOptions => ({ baseUrl: platform.baseUrl, token: user.token, transport })

/** Runs `f` with the Effect client over one transport. */
const withClient = <A, E>(transport: "http" | "websocket", f: (client: PlatformClient["Type"]) => Effect.Effect<A, E>) =>
  runLive(Effect.flatMap(PlatformClient, f).pipe(Effect.provide(PlatformClient.layer(options(transport)))))

const NOTES = [
  "The lighthouse keeper logs the tide at dawn.",
  "Refunds are paid back within fourteen days of the return being received.",
  "The cafeteria serves soup on Thursdays."
].join("\n\n")

describe("typed clients: agent → RAG → workflow against a running platform", () => {
  let agentId: string

  test("Effect client (both transports): create an agent, send a message, read the reply and the task", async () => {
    for (const transport of ["websocket", "http"] as const) {
      const result = await withClient(transport, (client) =>
        Effect.gen(function*() {
          const agent = yield* client.agents.create({ projectId: user.projectId, name: `helper-${transport}` })
          const reply = yield* client.agents.execute({ agentId: agent.id, text: `hello over ${transport}` })
          const task = yield* client.tasks.get({ taskId: reply.taskId })
          const listed = yield* client.agents.list({ projectId: user.projectId })
          return { agent, reply, task, listed }
        }))
      expect(result.reply.state, transport).toBe("completed")
      expect(result.reply.output, transport).toContain(`hello over ${transport}`)
      expect(result.task).toMatchObject({ agentId: result.agent.id, projectId: user.projectId })
      expect(result.task.task.status.state).toBe("completed")
      expect(result.listed.map((a) => a.id)).toContain(result.agent.id)
      agentId = result.agent.id
    }
  }, 60_000)

  test("a task's progress streams over RPC: snapshot first, text deltas, final completed status", async () => {
    for (const transport of ["websocket", "http"] as const) {
      const events = Chunk.toReadonlyArray(
        await withClient(transport, (client) => Stream.runCollect(client.tasks.stream({ agentId, text: "stream this please" })))
      )
      expect(events[0]._tag, transport).toBe("Snapshot")
      const last = events[events.length - 1]
      expect(last._tag === "Status" && last.final && last.status.state, transport).toBe("completed")
      const text = events.flatMap((e) => (e._tag === "Delta" ? [e.text] : [])).join("")
      expect(text, transport).toContain("stream this please")
    }
    // The Promise client streams the same events as an AsyncIterable.
    const tags: Array<string> = []
    for await (const event of promise.tasks.stream({ agentId, text: "and once more" })) tags.push(event._tag)
    expect(tags[0]).toBe("Snapshot")
    expect(tags.at(-1)).toBe("Status")
    const page = await promise.tasks.list({ agentId })
    expect(page.total).toBeGreaterThanOrEqual(4)
  }, 60_000)

  test("Promise client: ingest a text document (upload + status), then query it over RPC", async () => {
    const seen: Array<string> = []
    const doc = await promise.documents.upload({
      projectId: user.projectId,
      filename: "notes.txt",
      content: NOTES,
      onProgress: (p) => seen.push(p.status)
    })
    expect(doc.status).toBe("ready")
    expect(seen.at(-1)).toBe("ready")
    const listed = await promise.rag.listDocuments({ projectId: user.projectId })
    expect(listed.map((d) => d.id)).toContain(doc.id)
    const result = await promise.rag.query({ projectId: user.projectId, query: "when are refunds paid back?", k: 1 })
    expect(result.hits[0].documentId).toBe(doc.id)
    expect(result.hits[0].content).toContain("fourteen days")
  }, 90_000)

  test("a workflow (RAG step then agent step) is created, run and read back over RPC", async () => {
    const workflow = await promise.workflows.create({
      projectId: user.projectId,
      name: "answer",
      definition: {
        steps: [
          { id: "search", type: "rag", query: "{{input.question}}", topK: 1 },
          { id: "ask", type: "agent", agentId, input: "{{input.question}}", dependsOn: ["search"] }
        ],
        output: "{{steps.ask.output.text}}"
      }
    })
    const started = await promise.workflows.run({ id: workflow.id, input: { question: "when are refunds paid back?" } })
    let run = started
    await waitFor(async () => {
      run = await promise.workflows.getRun({ runId: started.id })
      if (run.status === "failed") throw new Error(run.error ?? "run failed")
      return run.status === "completed"
    }, 60_000)
    expect(String(run.output)).toContain("when are refunds paid back?")
    const search = run.stepResults.search as { output: { hits: Array<{ content: string }> } }
    expect(JSON.stringify(search)).toContain("fourteen days")
    const runs = await promise.workflows.listRuns({ id: workflow.id })
    expect(runs.map((r) => r.id)).toEqual([started.id])
  }, 90_000)

  test("tasks: a finished task cannot be joined or cancelled (Conflict); another tenant's task is NotFound", async () => {
    const submitted = await promise.agents.execute({ agentId, text: "quick one", wait: false })
    expect(["submitted", "working", "completed"]).toContain(submitted.state)
    await waitFor(async () => (await promise.tasks.get({ taskId: submitted.taskId })).task.status.state === "completed", 30_000)
    const joined = await withClient("websocket", (client) => Effect.flip(Stream.runDrain(client.tasks.subscribe({ taskId: submitted.taskId }))))
    expect(joined._tag).toBe("Conflict")
    const cancelled = await promise.tasks.cancel({ taskId: submitted.taskId }).catch((e: unknown) => e)
    expect(cancelled).toMatchObject({ _tag: "Conflict" })
    const other = await signUp(platform.baseUrl)
    const stranger = createPlatformClient({ baseUrl: platform.baseUrl, token: other.token })
    try {
      expect(await stranger.tasks.get({ taskId: submitted.taskId }).catch((e: unknown) => e)).toMatchObject({ _tag: "NotFound" })
      expect((await stranger.tasks.list({})).total).toBe(0)
    } finally {
      await stranger.close()
    }
  }, 60_000)

  test("tools are listed and called over RPC", async () => {
    const tools = await promise.tools.list({ projectId: user.projectId })
    expect(tools.map((t) => t.name)).toContain("rag_search")
    const result = await promise.tools.call({ projectId: user.projectId, tool: "rag_search", arguments: { query: "soup" } })
    expect(result.isError).toBe(false)
    expect(JSON.stringify(result.content)).toContain("soup")
  }, 30_000)

  test("a payload with NUL characters or nested too deep is a typed BadRequest over a WebSocket (no HTTP body guard there)", async () => {
    const nul = await withClient("websocket", (client) => Effect.flip(client.agents.create({ projectId: user.projectId, name: "a\u0000b" })))
    expect(nul).toMatchObject({ _tag: "BadRequest", message: "NUL characters (\\u0000) are not allowed in the call's payload" })
    let deep: unknown = "leaf"
    for (let i = 0; i < 100; i++) deep = { deeper: deep }
    const nested = await withClient("websocket", (client) =>
      Effect.flip(client.tools.call({ projectId: user.projectId, tool: "rag_search", arguments: { query: "x", deep } })))
    expect(nested).toMatchObject({ _tag: "BadRequest", message: "the call's payload is nested deeper than 64 levels" })
    // Nothing was stored, and the socket still serves the caller.
    const agents = await withClient("websocket", (client) => client.agents.list({ projectId: user.projectId }))
    expect(agents.some((a) => a.name.includes("\u0000"))).toBe(false)
  }, 30_000)

  test("errors are typed: an unknown agent (or another tenant's) is NotFound on both clients", async () => {
    const missing = await withClient("http", (client) => Effect.flip(client.agents.get({ id: "agt_missing" })))
    expect(missing._tag).toBe("NotFound")
    expect(missing.message).toBe("agent not found")
    const rejected = await promise.agents.get({ id: "agt_missing" }).catch((e: unknown) => e)
    expect(rejected).toMatchObject({ _tag: "NotFound", message: "agent not found" })
    // A browser's WebSocket carries the token in the query: the per-call authentication sees the same caller.
    const viaQuery = await runLive(
      withRpcClient(PlatformRpcs, wsProtocol(`${platform.wsUrl}/rpc/ws?access_token=${user.token}`), (client) => client.agents.list({}))
    )
    expect(viaQuery.map((a) => a.id)).toContain(agentId)
    // A token the platform refuses fails the call (Unauthorized) instead of waiting for a reply.
    const refused = createPlatformClient({ baseUrl: platform.baseUrl, token: "not-a-token" })
    expect(await refused.agents.list({}).catch((e: unknown) => e)).toMatchObject({ _tag: "Unauthorized", status: 401 })
    await refused.close()
    // Another tenant's agent reads exactly like a missing one.
    const other = await signUp(platform.baseUrl)
    const stranger = createPlatformClient({ baseUrl: platform.baseUrl, token: other.token, transport: "websocket" })
    try {
      expect(await stranger.agents.get({ id: agentId }).catch((e: unknown) => e)).toMatchObject({ _tag: "NotFound" })
      expect(await stranger.agents.list({})).toEqual([])
    } finally {
      await stranger.close()
    }
  }, 30_000)
})
