import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { deadUrl, type RemoteAgent, startRemoteAgent } from "./remoteAgent.ts"

let platform: TestPlatform
let alice: SignedUp
let mallory: SignedUp
let translator: RemoteAgent
let junk: ReturnType<typeof Bun.serve>

const call = (user: SignedUp, method: string, path: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

beforeAll(async () => {
  // Remote agents under test listen on loopback: the operator allow-list admits it.
  platform = await startPlatform({ egress: { allow: ["127.0.0.1"] } })
  alice = await signUp(platform.baseUrl)
  mallory = await signUp(platform.baseUrl)
  translator = await startRemoteAgent({
    name: "Translator",
    description: "Translates text between languages",
    skills: [
      { id: "translate", name: "Translate text", description: "Translate a sentence into French", tags: ["language", "french"] },
      { id: "detect", name: "Detect language", description: "Tell which language a text is in", tags: ["language"] }
    ]
  })
  // Serves JSON that is not an agent card, and a card without a usable interface.
  junk = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) =>
      new URL(req.url).pathname === "/grpc-only"
        ? Response.json({
          name: "G",
          description: "",
          version: "1",
          supportedInterfaces: [{ url: "http://127.0.0.1:1/x", protocolBinding: "GRPC", protocolVersion: "1.0" }],
          defaultInputModes: [],
          defaultOutputModes: [],
          skills: []
        })
        : Response.json({ hello: "world", skills: "many" })
  })
}, 90_000)

afterAll(async () => {
  await translator?.close()
  junk?.stop(true)
  await platform?.stop()
}, 30_000)

describe("orchestrator registry", () => {
  test("registers a remote A2A agent from its card and lists it with its skills", async () => {
    const res = await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: translator.cardUrl })
    expect(res.status).toBe(201)
    const entry = await res.json()
    expect(entry).toMatchObject({
      kind: "remote",
      name: "Translator",
      projectId: alice.projectId,
      endpointUrl: `${translator.baseUrl}/a2a`,
      protocolVersion: "1.0",
      status: "available"
    })
    expect(entry.skills.map((s: { id: string }) => s.id)).toEqual(["translate", "detect"])

    // Registering the same card again refreshes the entry instead of duplicating it.
    const again = await (await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: translator.cardUrl })).json()
    expect(again.id).toBe(entry.id)

    const list = await (await call(alice, "GET", `/orchestrator/agents?projectId=${alice.projectId}`)).json()
    expect(list.filter((a: { id: string }) => a.id === entry.id)).toHaveLength(1)
  })

  test("an unreachable card URL → 422 with the reason; registry unchanged", async () => {
    const before = await (await call(alice, "GET", "/orchestrator/agents")).json()
    const res = await call(alice, "POST", "/orchestrator/register", {
      projectId: alice.projectId,
      cardUrl: `${await deadUrl()}/.well-known/agent-card.json`
    })
    expect(res.status).toBe(422)
    const body = await res.json()
    expect(body._tag).toBe("AgentCardUnreachable")
    expect(body.message).toContain("could not be fetched")
    expect(await (await call(alice, "GET", "/orchestrator/agents")).json()).toEqual(before)
  })

  test("a document that is not an agent card → 422 with field issues; registry unchanged", async () => {
    const before = await (await call(alice, "GET", "/orchestrator/agents")).json()
    const res = await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: `http://127.0.0.1:${junk.port}/card` })
    expect(res.status).toBe(422)
    const body = await res.json()
    expect(body._tag).toBe("InvalidAgentCard")
    const paths = body.issues.map((i: { path: string }) => i.path)
    expect(paths).toContain("name")
    expect(paths).toContain("skills")

    const grpc = await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: `http://127.0.0.1:${junk.port}/grpc-only` })
    expect(grpc.status).toBe(422)
    expect((await grpc.json()).issues[0].message).toContain("JSONRPC")

    const notUrl = await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: "file:///etc/passwd" })
    expect(notUrl.status).toBe(422)
    expect(await (await call(alice, "GET", "/orchestrator/agents")).json()).toEqual(before)
  })

  test("tenancy: no token → 401; another user's project → 404 and its agents are invisible", async () => {
    const anon = await fetch(`${platform.baseUrl}/orchestrator/agents`)
    expect(anon.status).toBe(401)
    const res = await call(mallory, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: translator.cardUrl })
    expect(res.status).toBe(404)
    expect(await (await call(mallory, "GET", "/orchestrator/agents")).json()).toEqual([])
    const search = await (await call(mallory, "GET", "/orchestrator/agents/search?tag=language")).json()
    expect(search.matches).toEqual([])
  })

  // Generous timeout: the first semantic query may build the local embedding model.
  test("skill search by tag and by skill name", { timeout: 90_000 }, async () => {
    const byTag = await (await call(alice, "GET", "/orchestrator/agents/search?tag=french")).json()
    expect(byTag.matches).toHaveLength(1)
    expect(byTag.matches[0]).toMatchObject({ skillId: "translate", matchedBy: "tag", agent: { name: "Translator" } })

    const bySkill = await (await call(alice, "GET", "/orchestrator/agents/search?skill=detect")).json()
    expect(bySkill.matches.map((m: { skillId: string }) => m.skillId)).toEqual(["detect"])

    const byText = await (await call(alice, "GET", `/orchestrator/agents/search?q=${encodeURIComponent("which language")}`)).json()
    expect(byText.matches[0].skillId).toBe("detect")
    // Semantic matching is only claimed when it was applied.
    if (!byText.semantic) {
      expect(byText.matches.every((m: { matchedBy: string }) => m.matchedBy !== "semantic")).toBe(true)
    }
  })

  test("semantic skill search through the platform's Embeddings service", { timeout: 120_000 }, async () => {
    // No word of the query is in a skill name or description: only meaning can match it.
    const query = `/orchestrator/agents/search?q=${encodeURIComponent("convert english into french")}`
    // A search does not wait for a model that is still loading: it answers by name/tag meanwhile.
    let res = await (await call(alice, "GET", query)).json()
    const deadline = Date.now() + 100_000
    while (!res.semantic && Date.now() < deadline) {
      expect(res.matches).toEqual([])
      await Bun.sleep(1_000)
      res = await (await call(alice, "GET", query)).json()
    }
    expect(res.semantic).toBe(true)
    expect(res.matches[0]).toMatchObject({ skillId: "translate", matchedBy: "semantic" })
    expect(res.matches[0].score).toBeGreaterThan(0.3)
  })

  test("refresh marks an agent unreachable when its card goes away", async () => {
    const flaky = await startRemoteAgent({ name: "Flaky", skills: [] })
    const entry = await (await call(alice, "POST", "/orchestrator/register", { projectId: alice.projectId, cardUrl: flaky.cardUrl })).json()
    await flaky.close()
    const res = await call(alice, "POST", `/orchestrator/agents/${entry.id}/refresh`, { projectId: alice.projectId })
    expect(res.status).toBe(200)
    const refreshed = await res.json()
    expect(refreshed.status).toBe("unreachable")
    expect(refreshed.lastError).toContain("could not be fetched")
    const del = await call(alice, "DELETE", `/orchestrator/agents/${entry.id}?projectId=${alice.projectId}`)
    expect(del.status).toBe(204)
    const list = await (await call(alice, "GET", "/orchestrator/agents")).json()
    expect(list.some((a: { id: string }) => a.id === entry.id)).toBe(false)
  })
})
