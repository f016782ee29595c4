import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

let platform: TestPlatform
let owner: SignedUp
let stranger: SignedUp

beforeAll(async () => {
  platform = await startPlatform()
  owner = await signUp(platform.baseUrl)
  stranger = await signUp(platform.baseUrl)
}, 240_000)
afterAll(() => platform?.stop())

const api = async (method: string, path: string, user: SignedUp, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) }
}

/** Collects chat frames until `until` matches one. */
const openChat = async (token: string) => {
  const ws = new WebSocket(`${platform.wsUrl}/ws/chat?access_token=${token}`)
  const frames: Array<any> = []
  const waiters: Array<{ pred: (f: any) => boolean; resolve: (f: any) => void }> = []
  ws.onmessage = (e) => {
    const frame = JSON.parse(String(e.data))
    frames.push(frame)
    for (const w of [...waiters]) {
      if (w.pred(frame)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(frame)
      }
    }
  }
  const next = (pred: (f: any) => boolean, timeoutMs = 20_000) =>
    new Promise<any>((resolve, reject) => {
      const seen = frames.find(pred)
      if (seen) return resolve(seen)
      waiters.push({ pred, resolve })
      setTimeout(() => reject(new Error(`no frame matched within ${timeoutMs} ms: ${JSON.stringify(frames.slice(-5))}`)), timeoutMs)
    })
  await next((f) => f.type === "ready")
  return { ws, frames, next, send: (m: unknown) => ws.send(JSON.stringify(m)) }
}

describe("agents REST", () => {
  test("CRUD with tenancy: create, list, get, update, delete; other projects' agents are 404", async () => {
    const created = await api("POST", "/agents", owner, { projectId: owner.projectId, name: "Support", systemPrompt: "help", tools: ["echo"] })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: "Support", provider: "local", model: "local", tools: ["echo"], projectId: owner.projectId })
    const id = created.body.id
    expect((await api("GET", "/agents", owner)).body.map((a: any) => a.id)).toContain(id)
    expect((await api("GET", `/agents/${id}`, owner)).body.systemPrompt).toBe("help")
    const updated = await api("PUT", `/agents/${id}`, owner, { name: "Support v2", config: { temperature: 0.2 } })
    expect(updated.body).toMatchObject({ name: "Support v2", config: { temperature: 0.2 } })
    // Another tenant: the agent does not exist for them, and they cannot create in this project.
    expect((await api("GET", `/agents/${id}`, stranger)).status).toBe(404)
    expect((await api("PUT", `/agents/${id}`, stranger, { name: "x" })).status).toBe(404)
    expect((await api("GET", "/agents", stranger)).body).toEqual([])
    expect((await api("POST", "/agents", stranger, { projectId: owner.projectId, name: "x" })).status).toBe(404)
    expect((await api("DELETE", `/agents/${id}`, owner)).status).toBe(204)
    expect((await api("GET", `/agents/${id}`, owner)).status).toBe(404)
    expect((await fetch(`${platform.baseUrl}/agents`)).status).toBe(401)
  })

  test("validation: bad provider and missing name are 400", async () => {
    expect((await api("POST", "/agents", owner, { projectId: owner.projectId, name: "x", provider: "nope" })).status).toBe(400)
    expect((await api("POST", "/agents", owner, { projectId: owner.projectId })).status).toBe(400)
    expect((await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "missing" })).status).toBe(400)
  })

  test("templates, create from template, capabilities and execute (local fallback says so)", async () => {
    const templates = await api("GET", "/agents/templates", owner)
    expect(templates.body.map((t: any) => t.id)).toContain("echo")
    const agent = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "researcher", name: "R" })).body
    expect(agent).toMatchObject({ name: "R", tools: ["rag_search"], systemPrompt: expect.stringContaining("research") })
    const caps = await api("GET", `/agents/${agent.id}/capabilities`, owner)
    expect(caps.body.capabilities.map((c: any) => c.name)).toEqual(["research", "tool:rag_search"])
    expect(caps.body.endpoints.a2a).toBe(`/agents/${agent.id}/a2a`)
    const run = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "what is A2A?" })
    expect(run.status).toBe(200)
    expect(run.body.state).toBe("completed")
    expect(run.body.output).toContain("local fallback")
    expect(run.body.usage).toMatchObject({ provider: "local", costUsd: 0 })
    // Continue the conversation in the same context.
    const again = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "and more?", contextId: run.body.contextId })
    expect(again.body.contextId).toBe(run.body.contextId)
    const accepted = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "later", wait: false })
    expect(["submitted", "working", "completed"]).toContain(accepted.body.state)
    expect((await api("POST", `/agents/${agent.id}/execute`, stranger, { task: "x" })).status).toBe(404)
  })

  test("an asynchronous run is read back by REST: GET /agents/{id}/tasks/{taskId}; other tenants and other agents get 404", async () => {
    const agent = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "echo" })).body
    const accepted = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "read me later", wait: false })
    expect(accepted.body.taskId).toBeString()
    const path = `/agents/${agent.id}/tasks/${accepted.body.taskId}`
    let task = (await api("GET", path, owner)).body
    for (let i = 0; i < 100 && task.state !== "completed"; i++) {
      await Bun.sleep(100)
      task = (await api("GET", path, owner)).body
    }
    expect(task).toMatchObject({ id: accepted.body.taskId, agentId: agent.id, contextId: accepted.body.contextId, state: "completed" })
    expect(task.output).toContain("read me later")
    expect(task.history[0]).toMatchObject({ role: "user", parts: [{ kind: "text", text: "read me later" }] })
    expect(task.status.state).toBe("completed")
    expect((await api("GET", path, stranger)).status).toBe(404)
    const other = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "echo" })).body
    expect((await api("GET", `/agents/${other.id}/tasks/${accepted.body.taskId}`, owner)).status).toBe(404)
    expect((await api("GET", `/agents/${agent.id}/tasks/no-such-task`, owner)).body).toMatchObject({ _tag: "NotFound" })
  })

  test("GET /agents pages in creation order (limit/after); pages are bounded and another project's id pages nothing", async () => {
    const me = await signUp(platform.baseUrl)
    const ids: Array<string> = []
    for (let i = 0; i < 5; i++) ids.push((await api("POST", "/agents", me, { projectId: me.projectId, name: `Paged ${i}` })).body.id)
    const first = await api("GET", `/agents?projectId=${me.projectId}&limit=2`, me)
    expect(first.body.map((a: any) => a.id)).toEqual(ids.slice(0, 2))
    const second = await api("GET", `/agents?projectId=${me.projectId}&limit=2&after=${ids[1]}`, me)
    expect(second.body.map((a: any) => a.id)).toEqual(ids.slice(2, 4))
    const last = await api("GET", `/agents?projectId=${me.projectId}&limit=2&after=${ids[3]}`, me)
    expect(last.body.map((a: any) => a.id)).toEqual(ids.slice(4))
    // The default page holds them all; a limit outside 1..500 is a 400, not an unbounded list.
    expect((await api("GET", "/agents", me)).body.map((a: any) => a.id)).toEqual(ids)
    for (const bad of ["0", "501", "abc", "2.5"]) expect((await api("GET", `/agents?limit=${bad}`, me)).status).toBe(400)
    // A cursor from another tenant's agent does not page this caller's list (nor reveal its position).
    const theirs = (await api("POST", "/agents", stranger, { projectId: stranger.projectId, name: "Elsewhere" })).body.id
    expect((await api("GET", `/agents?after=${theirs}`, me)).body).toEqual([])
  })

  test("agents have a slug unique in their project, kept on rename, and are read by it", async () => {
    const first = (await api("POST", "/agents", owner, { projectId: owner.projectId, name: "Support Bot (EU)" })).body
    const second = (await api("POST", "/agents", owner, { projectId: owner.projectId, name: "support bot eu" })).body
    expect(first.slug).toBe("support-bot-eu")
    expect(second.slug).toBe("support-bot-eu-2")
    // Another project may use the same slug.
    const theirs = (await api("POST", "/agents", stranger, { projectId: stranger.projectId, name: "Support Bot (EU)" })).body
    expect(theirs.slug).toBe("support-bot-eu")
    expect((await api("PUT", `/agents/${first.id}`, owner, { name: "Renamed" })).body.slug).toBe("support-bot-eu")
    const bySlug = await api("GET", `/agents/by-slug/${owner.projectId}/support-bot-eu-2`, owner)
    expect(bySlug.status).toBe(200)
    expect(bySlug.body.id).toBe(second.id)
    expect((await api("GET", `/agents/by-slug/${owner.projectId}/support-bot-eu`, stranger)).status).toBe(404)
    expect((await api("GET", `/agents/by-slug/${owner.projectId}/nobody`, owner)).status).toBe(404)
  })

  test("agents of one name created at once all get distinct slugs (no 500)", async () => {
    const created = await Promise.all(
      Array.from({ length: 12 }, () => api("POST", "/agents", owner, { projectId: owner.projectId, name: "Same Name" }))
    )
    expect(created.map((r) => r.status)).toEqual(Array(12).fill(201))
    expect(new Set(created.map((r) => r.body.slug)).size).toBe(12)
  })

  test("execute naming a task: an unknown task is 404, a finished one cannot continue (409)", async () => {
    const agent = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "echo" })).body
    const unknown = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "go on", taskId: "no-such-task" })
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ _tag: "NotFound", message: "Task not found: no-such-task" })
    const done = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "first" })
    expect(done.body.state).toBe("completed")
    const again = await api("POST", `/agents/${agent.id}/execute`, owner, { task: "go on", taskId: done.body.taskId })
    expect(again.status).toBe(409)
    expect(again.body._tag).toBe("Conflict")
    // Another agent's task is not found through this agent.
    const other = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "echo" })).body
    expect((await api("POST", `/agents/${other.id}/execute`, owner, { task: "x", taskId: done.body.taskId })).status).toBe(404)
  })
})

describe("WebSocket chat", () => {
  test("streams tokens for concurrent sessions; reconnect + resume returns the task's result", async () => {
    const agent = (await api("POST", "/agents", owner, { projectId: owner.projectId, templateId: "echo" })).body
    const chat = await openChat(owner.token)
    chat.send({ type: "chat", sessionId: "s1", agentId: agent.id, text: "first session" })
    chat.send({ type: "chat", sessionId: "s2", agentId: agent.id, text: "second session" })
    const done1 = await chat.next((f) => f.type === "done" && f.sessionId === "s1")
    const done2 = await chat.next((f) => f.type === "done" && f.sessionId === "s2")
    expect(done1.output).toContain("first session")
    expect(done2.output).toContain("second session")
    const tokens1 = chat.frames.filter((f) => f.type === "token" && f.sessionId === "s1").map((f) => f.text).join("")
    expect(chat.frames.filter((f) => f.type === "token" && f.sessionId === "s1").length).toBeGreaterThan(3)
    expect(tokens1).toBe(done1.output)
    chat.ws.close()
    // A new connection with the same token picks the task up again.
    const again = await openChat(owner.token)
    again.send({ type: "resume", sessionId: "r1", taskId: done1.taskId })
    const resumed = await again.next((f) => f.sessionId === "r1" && f.type === "done")
    expect(resumed.output).toBe(done1.output)
    // Someone else's task is not found.
    const other = await openChat(stranger.token)
    other.send({ type: "resume", sessionId: "x", taskId: done1.taskId })
    expect((await other.next((f) => f.type === "error")).message).toBe("task not found")
    // Cancel of a finished task: the domain error, named.
    again.send({ type: "cancel", taskId: done1.taskId })
    expect(await again.next((f) => f.type === "error" && f.taskId === done1.taskId)).toMatchObject({
      code: "TaskNotCancelable",
      message: `Task not cancelable: ${done1.taskId} is completed`
    })
    again.ws.close()
    other.ws.close()
    const anonymous = await fetch(`${platform.baseUrl}/ws/chat`, { headers: { upgrade: "websocket" } })
    expect(anonymous.status).toBe(401)
  }, 60_000)
})
