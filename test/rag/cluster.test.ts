import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { signUp, type SignedUp } from "../support/auth.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { clusterNodeEnv, spawnPlatform, waitFor } from "../support/process.ts"
import { makeDocx, makePdf, topics } from "../fixtures/rag/documents.ts"

/**
 * RAG across processes on PostgreSQL 15 with native pgvector: a runner hosts
 * the durable ingestion entity, a client node (CLUSTER_MODE=client, hosting no
 * entity) serves the API. A document uploaded on either is ingested by the
 * runner and answers questions asked through the client node.
 */
type Node = Awaited<ReturnType<typeof spawnPlatform>>
let db: Awaited<ReturnType<typeof createTestDatabase>>
let runner: Node | undefined
let client: Node | undefined
let user: SignedUp

beforeAll(async () => {
  db = await createTestDatabase("ragcluster")
  const env = clusterNodeEnv({ databaseUrl: db.url, jwtSecret: "rag-cluster-secret-0123456789abcdef0123456789" })
  runner = await spawnPlatform({ ...env(0), VECTOR_STORE: "required" }, "src/runner.ts")
  await waitFor(async () => (await (await fetch(`${runner!.baseUrl}/health`)).json()).cluster.ownedShards === 300, 120_000)
  client = await spawnPlatform({ ...env(1), VECTOR_STORE: "required", CLUSTER_MODE: "client" }, "src/runner.ts")
  user = await signUp(client.baseUrl)
}, 300_000)

// Dropping a database two killed nodes were connected to (WITH FORCE) took over bun's 5 s default at load 35.
afterAll(async () => {
  await Promise.all([runner?.kill("SIGKILL"), client?.kill("SIGKILL")])
  await db?.drop()
}, 60_000)

const upload = async (node: Node, filename: string, type: string, bytes: Uint8Array) => {
  const form = new FormData()
  form.append("projectId", user.projectId)
  form.append("file", new Blob([bytes.slice().buffer as ArrayBuffer], { type }), filename)
  const res = await fetch(`${node.baseUrl}/rag/documents`, { method: "POST", headers: user.headers, body: form })
  expect(res.status).toBe(202)
  return ((await res.json()) as { document: { id: string } }).document.id
}

const document = async (node: Node, id: string) =>
  (await (await fetch(`${node.baseUrl}/rag/documents/${id}`, { headers: user.headers })).json()) as {
    status: string
    chunkCount: number
    chunksEmbedded: number
    error: string | null
  }

const waitReady = (id: string) =>
  waitFor(async () => {
    const doc = await document(client!, id)
    if (doc.status === "failed") throw new Error(doc.error ?? "failed")
    return doc.status === "ready"
  }, 90_000)

const ask = async (query: string, mode: "text" | "vector" | "hybrid" = "hybrid") => {
  const res = await fetch(`${client!.baseUrl}/rag/query`, {
    method: "POST",
    headers: { ...user.headers, "content-type": "application/json" },
    body: JSON.stringify({ projectId: user.projectId, query, k: 3, mode })
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { hits: Array<{ documentId: string; content: string; metadata: Record<string, unknown> }> }).hits
}

describe("RAG on a runner and a client node (PostgreSQL 15 + native pgvector)", () => {
  test("ingested on the runner, asked through the client node", async () => {
    const pdfId = await upload(runner!, "policies.pdf", "application/pdf", await makePdf([topics.shipping, topics.refunds, topics.volcano]))
    await waitReady(pdfId)
    const doc = await document(client!, pdfId)
    expect(doc.chunksEmbedded).toBe(doc.chunkCount)
    expect(doc.chunkCount).toBeGreaterThanOrEqual(3)
    const hits = await ask("when is my refund paid back?")
    expect(hits[0]).toMatchObject({ documentId: pdfId, metadata: { page: 2 } })
    expect((await ask("which volcano erupts near Catania?", "text"))[0]).toMatchObject({ documentId: pdfId, metadata: { page: 3 } })
  }, 120_000)

  test("uploaded to the client node, ingested by the runner's entity, found through the client", async () => {
    const docxId = await upload(
      client!,
      "rules.docx",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      await makeDocx([{ heading: "Security rules", text: topics.security }])
    )
    await waitReady(docxId)
    const hits = await ask("how often are passwords rotated?")
    expect(hits[0]).toMatchObject({ documentId: docxId, metadata: { heading: "Security rules" } })
  }, 120_000)
})
