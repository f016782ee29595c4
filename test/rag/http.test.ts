import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Option, Redacted } from "effect"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { waitFor } from "../support/process.ts"
import { makeDocx, makeEncryptedPdf, makePdf, topics } from "../fixtures/rag/documents.ts"

let platform: TestPlatform
let alice: SignedUp
let bob: SignedUp

const upload = (user: SignedUp, projectId: string, filename: string, type: string, bytes: Uint8Array) => {
  const form = new FormData()
  form.append("projectId", projectId)
  form.append("file", new Blob([bytes.slice().buffer as ArrayBuffer], { type }), filename)
  return fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: user.headers, body: form })
}

const json = (user: SignedUp, path: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const waitReady = (user: SignedUp, id: string) =>
  waitFor(async () => {
    const doc = await (await json(user, `/rag/documents/${id}`)).json()
    if (doc.status === "failed") throw new Error(doc.error)
    return doc.status === "ready"
  }, 60_000)

beforeAll(async () => {
  platform = await startPlatform()
  alice = await signUp(platform.baseUrl)
  bob = await signUp(platform.baseUrl)
}, 180_000)
afterAll(() => platform.stop(), 30_000)

describe("RAG over HTTP", () => {
  let pdfId: string

  test("upload a PDF → durable ingestion → the question retrieves the right page", async () => {
    const pdf = await makePdf([topics.shipping, topics.refunds, topics.volcano])
    const res = await upload(alice, alice.projectId, "policies.pdf", "application/pdf", pdf)
    expect(res.status).toBe(202)
    const body = await res.json()
    expect(body.deduplicated).toBe(false)
    expect(body.document).toMatchObject({ filename: "policies.pdf", contentType: "application/pdf", projectId: alice.projectId })
    pdfId = body.document.id
    await waitReady(alice, pdfId)

    const query = await json(alice, "/rag/query", { projectId: alice.projectId, query: "when is my refund paid back?", k: 2 })
    expect(query.status).toBe(200)
    const result = await query.json()
    expect(result.hits[0]).toMatchObject({ documentId: pdfId, metadata: { page: 2 } })
    expect(result.hits[0].content).toContain("refund")
    expect(result.modelId).toBe("local/glove-100d-sif-v1")
  }, 90_000)

  test("a DOCX upload; listing, stats and de-duplication", async () => {
    const docx = await makeDocx([{ heading: "Security rules", text: topics.security }])
    const first = await upload(alice, alice.projectId, "rules.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx)
    expect(first.status).toBe(202)
    const { document } = await first.json()
    await waitReady(alice, document.id)
    const again = await (await upload(alice, alice.projectId, "copy.docx", "application/octet-stream", docx)).json()
    expect(again).toMatchObject({ deduplicated: true, document: { id: document.id } })

    const hit = (await (await json(alice, "/rag/query", {
      projectId: alice.projectId,
      query: "how often are passwords rotated?",
      k: 1
    })).json()).hits[0]
    expect(hit).toMatchObject({ documentId: document.id, metadata: { heading: "Security rules" } })

    const list = await (await json(alice, `/rag/documents?projectId=${alice.projectId}`)).json()
    expect(list.documents.map((d: { id: string }) => d.id).sort()).toEqual([pdfId, document.id].sort())
    const stats = await (await json(alice, `/rag/embeddings/stats?projectId=${alice.projectId}`)).json()
    expect(stats).toMatchObject({ modelId: "local/glove-100d-sif-v1", dimension: 100, documents: 2, readyDocuments: 2 })
    expect(stats.chunks).toBeGreaterThanOrEqual(4)
    expect(stats.collections).toEqual([expect.objectContaining({ dimension: 100, searchable: true })])
  }, 90_000)

  test("bad uploads get clear 4xx answers and store nothing", async () => {
    const p = alice.projectId
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0])
    const unsupported = await upload(alice, p, "logo.png", "image/png", png)
    expect(unsupported.status).toBe(415)
    const empty = await upload(alice, p, "empty.txt", "text/plain", new Uint8Array())
    expect(empty.status).toBe(422)
    expect(await empty.json()).toMatchObject({ _tag: "UnprocessableDocument", reason: "Empty" })
    const locked = await upload(alice, p, "locked.pdf", "application/pdf", await makeEncryptedPdf())
    expect(await locked.json()).toMatchObject({ _tag: "UnprocessableDocument", reason: "Encrypted" })
    const corrupt = await upload(alice, p, "broken.pdf", "application/pdf", new TextEncoder().encode("%PDF-1.4 nonsense"))
    expect(corrupt.status).toBe(422)
    const big = await upload(alice, p, "big.txt", "text/plain", new Uint8Array(11 * 1024 * 1024).fill(0x62))
    expect(big.status).toBe(413)
    const list = await (await json(alice, `/rag/documents?projectId=${p}`)).json()
    expect(list.documents).toHaveLength(2)
  }, 60_000)

  test("authentication and project isolation", async () => {
    const anonymous = await fetch(`${platform.baseUrl}/rag/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ projectId: alice.projectId, query: "refund" })
    })
    expect(anonymous.status).toBe(401)
    const foreignQuery = await json(bob, "/rag/query", { projectId: alice.projectId, query: "refund" })
    expect(foreignQuery.status).toBe(404)
    expect((await json(bob, `/rag/documents/${pdfId}`)).status).toBe(404)
    const foreignUpload = await upload(bob, alice.projectId, "x.txt", "text/plain", new TextEncoder().encode("hello"))
    expect(foreignUpload.status).toBe(404)
    const own = await (await json(bob, "/rag/query", { projectId: bob.projectId, query: "refund" })).json()
    expect(own.hits).toEqual([])
    const del = await fetch(`${platform.baseUrl}/rag/documents/${pdfId}`, { method: "DELETE", headers: bob.headers })
    expect(del.status).toBe(404)
  })

  test("DELETE removes the document with its chunks and vectors", async () => {
    const del = await fetch(`${platform.baseUrl}/rag/documents/${pdfId}`, { method: "DELETE", headers: alice.headers })
    expect(del.status).toBe(204)
    expect((await json(alice, `/rag/documents/${pdfId}`)).status).toBe(404)
    const result = await (await json(alice, "/rag/query", { projectId: alice.projectId, query: "refund paid back", k: 10 })).json()
    expect(result.hits.every((h: { documentId: string }) => h.documentId !== pdfId)).toBe(true)
    const stats = await (await json(alice, `/rag/embeddings/stats?projectId=${alice.projectId}`)).json()
    expect(stats.documents).toBe(1)
  })
})

describe("RAG on a PostgreSQL without pgvector", () => {
  test("the platform starts (VECTOR_STORE=disabled) and RAG answers 503", async () => {
    const db = await createTestDatabase("rag")
    const plain = await startPlatform({ databaseUrl: Option.some(Redacted.make(db.url)), vectorStore: "disabled" })
    try {
      const user = await signUp(plain.baseUrl)
      const res = await fetch(`${plain.baseUrl}/rag/query`, {
        method: "POST",
        headers: { ...user.headers, "content-type": "application/json" },
        body: JSON.stringify({ projectId: user.projectId, query: "anything" })
      })
      expect(res.status).toBe(503)
      expect((await res.json()).message).toContain("pgvector")
      const form = new FormData()
      form.append("projectId", user.projectId)
      form.append("file", new Blob(["hello"], { type: "text/plain" }), "a.txt")
      const up = await fetch(`${plain.baseUrl}/rag/documents`, { method: "POST", headers: user.headers, body: form })
      expect(up.status).toBe(503)
      const list = await fetch(`${plain.baseUrl}/rag/documents`, { headers: user.headers })
      expect(await list.json()).toEqual({ documents: [] })
    } finally {
      await plain.stop()
      await db.drop()
    }
  }, 180_000)
})
