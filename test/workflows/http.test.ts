import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { countingServer } from "./engineHarness.ts"

let platform: TestPlatform
let alice: SignedUp
let mallory: SignedUp
let server: ReturnType<typeof countingServer>

const api = async (user: SignedUp, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === "" ? null : JSON.parse(text) }
}

const waitRun = async (user: SignedUp, runId: string, statuses: ReadonlyArray<string>) => {
  let last: { status: string } | undefined
  await waitFor(async () => {
    last = (await api(user, "GET", `/workflows/runs/${runId}`)).body
    return last !== undefined && statuses.includes(last.status)
  }, 30_000)
  return last as Record<string, any>
}

beforeAll(async () => {
  server = countingServer((path) => Response.json({ path }))
  platform = await startPlatform({
    // The cron test fires every second: below the 60 s minimum an operator would keep.
    workflows: { httpAllow: ["127.0.0.1"], schedulerIntervalMs: 200, minCronIntervalSeconds: 1 },
    // Local test servers: the operator allow-list admits loopback, as an operator would.
    egress: { allow: ["127.0.0.1"] },
  })
  alice = await signUp(platform.baseUrl)
  mallory = await signUp(platform.baseUrl)
}, 180_000)
afterAll(async () => {
  await platform?.stop()
  server?.stop()
})

describe("workflows over HTTP", () => {
  test("definitions are validated up front: every problem listed in one 400", async () => {
    const res = await api(alice, "POST", "/workflows", {
      projectId: alice.projectId,
      name: "broken",
      definition: {
        steps: [
          { id: "a", type: "nope" },
          { id: "b", type: "http", url: "{{steps.zzz.output}}" },
          { id: "c", type: "set", values: {}, dependsOn: ["d"] },
          { id: "d", type: "set", values: {}, dependsOn: ["c"] },
          { id: "e", type: "subworkflow", workflowId: "wf_missing" }
        ]
      }
    })
    expect(res.status).toBe(400)
    expect(res.body._tag).toBe("BadRequest")
    const messages: Array<string> = res.body.issues.map((i: { message: string }) => i.message)
    expect(messages.some((m) => m.startsWith("unknown step type \"nope\""))).toBe(true)
    expect(messages).toContain("references unknown step 'zzz'")
    expect(messages.some((m) => m.startsWith("dependency cycle"))).toBe(true)
    // A missing definition says so in a sentence, not as the schema's full type.
    const missing = await api(alice, "POST", "/workflows", { projectId: alice.projectId, name: "empty" })
    expect(missing.status).toBe(400)
    expect(missing.body.issues).toEqual([{ path: "", message: "Expected an object, actual undefined" }])
  }, 30_000)

  test("versioned definitions: PUT appends a version and runs pin theirs", async () => {
    const created = await api(alice, "POST", "/workflows", {
      projectId: alice.projectId,
      name: "greeter",
      definition: { steps: [{ id: "hi", type: "set", values: { text: "v1 {{input.name}}" } }], output: "{{vars.text}}" }
    })
    expect(created.status).toBe(201)
    expect(created.body.version).toBe(1)
    const id = created.body.id
    const updated = await api(alice, "PUT", `/workflows/${id}`, {
      definition: { steps: [{ id: "hi", type: "http", url: `${server.url}/v2` }], output: "v2 {{steps.hi.output.body.path}}" }
    })
    expect(updated.status).toBe(200)
    expect(updated.body.version).toBe(2)

    const latest = await api(alice, "POST", `/workflows/${id}/execute`, { input: { name: "ada" } })
    expect(latest.status).toBe(202)
    expect(latest.body.workflowVersion).toBe(2)
    const pinned = await api(alice, "POST", `/workflows/${id}/execute`, { input: { name: "ada" }, version: 1 })
    expect(pinned.body.workflowVersion).toBe(1)

    expect((await waitRun(alice, latest.body.id, ["completed", "failed"])).output).toBe("v2 /v2")
    expect((await waitRun(alice, pinned.body.id, ["completed", "failed"])).output).toBe("v1 ada")

    const status = await api(alice, "GET", `/workflows/${id}/status`)
    expect(status.status).toBe(200)
    expect([latest.body.id, pinned.body.id]).toContain(status.body.id)
    const list = await api(alice, "GET", `/workflows/${id}/runs`)
    expect(list.body.map((r: { id: string }) => r.id).sort()).toEqual([latest.body.id, pinned.body.id].sort())
  }, 60_000)

  test("an approval is signalled over HTTP; other tenants see 404", async () => {
    const run = await api(alice, "POST", "/workflows/execute", {
      projectId: alice.projectId,
      definition: { steps: [{ id: "gate", type: "approval", message: "go?" }, { id: "after", type: "set", values: { done: true } }] }
    })
    expect(run.status).toBe(202)
    expect(run.body.trigger).toBe("orchestrator")
    await waitRun(alice, run.body.id, ["waiting"])
    expect((await api(mallory, "GET", `/workflows/runs/${run.body.id}`)).status).toBe(404)
    expect((await api(mallory, "POST", `/workflows/runs/${run.body.id}/signal`, { approved: true })).status).toBe(404)
    const signal = await api(alice, "POST", `/workflows/runs/${run.body.id}/signal`, { stepId: "gate", approved: true, comment: "ok" })
    expect(signal.status).toBe(202)
    const done = await waitRun(alice, run.body.id, ["completed", "failed"])
    expect(done.status).toBe("completed")
    expect(done.stepResults.gate.output).toMatchObject({ approved: true, comment: "ok", by: alice.email })
    const again = await api(alice, "POST", `/workflows/runs/${run.body.id}/signal`, { approved: false })
    expect(again.status).toBe(409)
  }, 60_000)

  test("a waiting run can be cancelled", async () => {
    const run = await api(alice, "POST", "/workflows/execute", {
      projectId: alice.projectId,
      definition: { steps: [{ id: "gate", type: "approval" }] }
    })
    await waitRun(alice, run.body.id, ["waiting"])
    const cancelled = await api(alice, "POST", `/workflows/runs/${run.body.id}/cancel`)
    expect(cancelled.status).toBe(200)
    expect(cancelled.body.status).toBe("cancelled")
    expect((await api(alice, "POST", `/workflows/runs/${run.body.id}/cancel`)).status).toBe(409)
  }, 60_000)

  test("sub-workflows run as children and return their output", async () => {
    const child = await api(alice, "POST", "/workflows", {
      projectId: alice.projectId,
      name: "child",
      definition: { steps: [{ id: "double", type: "set", values: { v: "{{input.n * 2}}" } }], output: "{{vars.v}}" }
    })
    const parent = await api(alice, "POST", "/workflows", {
      projectId: alice.projectId,
      name: "parent",
      definition: { steps: [{ id: "call", type: "subworkflow", workflowId: child.body.id, input: { n: "{{input.n}}" } }], output: "{{steps.call.output + 1}}" }
    })
    expect(parent.status).toBe(201)
    // A definition may not call itself (directly or through others).
    const loop = await api(alice, "PUT", `/workflows/${child.body.id}`, {
      definition: { steps: [{ id: "back", type: "subworkflow", workflowId: parent.body.id }] }
    })
    expect(loop.status).toBe(400)
    expect(loop.body.issues[0].message).toContain("sub-workflow cycle")
    const run = await api(alice, "POST", `/workflows/${parent.body.id}/execute`, { input: { n: 20 } })
    const done = await waitRun(alice, run.body.id, ["completed", "failed"])
    expect(done.error).toBeNull()
    expect(done.output).toBe(41)
  }, 60_000)

  test("cron schedules fire once per tick", async () => {
    const created = await api(alice, "POST", "/workflows", {
      projectId: alice.projectId,
      name: "every-second",
      definition: { steps: [{ id: "ping", type: "http", url: `${server.url}/cron` }], schedule: { cron: "* * * * * *" } }
    })
    expect(created.status).toBe(201)
    expect(created.body.scheduleCron).toBe("* * * * * *")
    await waitFor(async () => (await api(alice, "GET", `/workflows/${created.body.id}/runs`)).body.length >= 3, 30_000)
    // Stop the schedule, then compare runs with distinct ticks.
    await api(alice, "PUT", `/workflows/${created.body.id}`, { definition: { steps: [{ id: "ping", type: "http", url: `${server.url}/cron` }] } })
    await Bun.sleep(1500)
    const runs = (await api(alice, "GET", `/workflows/${created.body.id}/runs?limit=200`)).body as Array<{ trigger: string; input: { scheduledAt: string } }>
    expect(runs.every((r) => r.trigger === "cron")).toBe(true)
    const ticks = runs.map((r) => r.input.scheduledAt)
    expect(new Set(ticks).size).toBe(ticks.length)
  }, 60_000)

  test("reads are scoped to the caller's projects", async () => {
    const mine = await api(alice, "GET", "/workflows")
    expect(mine.body.length).toBeGreaterThan(0)
    expect((await api(mallory, "GET", "/workflows")).body).toEqual([])
    expect((await api(mallory, "GET", `/workflows/${mine.body[0].id}`)).status).toBe(404)
    expect((await api(mallory, "POST", "/workflows", { projectId: alice.projectId, name: "x", definition: { steps: [] } })).status).toBe(404)
    expect((await fetch(`${platform.baseUrl}/workflows`)).status).toBe(401)
  }, 30_000)
})
