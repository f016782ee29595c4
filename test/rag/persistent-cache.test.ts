import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { DocumentIngestion } from "../../src/rag/DocumentIngestion.ts"
import { createProjects, makeRagRuntime } from "./setup.ts"
import { createTestDatabase } from "../support/postgres.ts"

/** Letter histogram: equal texts give equal vectors, different texts (almost always) different ones. */
const fakeVector = (text: string) => {
  const v = new Array<number>(16).fill(0)
  for (const ch of text.toLowerCase()) v[ch.charCodeAt(0) % 16] += 1
  return v
}

const paragraphs = Array.from({ length: 12 }, (_, i) =>
  `Section ${i}: the pump number ${i} is inspected every ${i + 2} weeks and its seals are replaced when worn.`)

/**
 * A paid provider's vectors go to the persistent embedding cache in the same
 * statement as the chunks and the progress (one per batch): a second document
 * with the same passages, in another project, is stored without asking the
 * provider again. Native PostgreSQL (the deployment this matters for) with the
 * OpenAI SDK pointed at a local fake server.
 */
describe("ingestion with a provider embedder (persistent cache)", () => {
  const inputs: Array<string> = []
  let server: ReturnType<typeof Bun.serve>
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let rag: Awaited<ReturnType<typeof makeRagRuntime>>
  beforeAll(async () => {
    server = Bun.serve({
      port: 0,
      fetch: async (req) => {
        const body = (await req.json()) as { model: string; input: Array<string> }
        inputs.push(...body.input)
        return Response.json({
          object: "list",
          model: body.model,
          data: body.input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t) })),
          usage: { prompt_tokens: 1, total_tokens: 1 }
        })
      }
    })
    db = await createTestDatabase("ragcache")
    rag = await makeRagRuntime({ ingestBatchSize: 3, chunkMaxTokens: 30, chunkOverlapTokens: 0 }, {
      databaseUrl: db.url,
      embeddings: {
        provider: "openai",
        model: Option.some("fake-embedder"),
        dimension: Option.some(16),
        // No in-process cache: a repeat must come from the database's.
        memoryCacheEntries: 0,
        openaiApiKey: Option.some(Redacted.make("sk-test")),
        openaiBaseUrl: Option.some(`http://127.0.0.1:${server.port}/v1`)
      }
    })
    await rag.runtime.runPromise(createProjects("p_one", "p_two"))
  }, 120_000)
  afterAll(async () => {
    await rag?.dispose()
    await db?.drop()
    server?.stop(true)
  }, 30_000)

  const ingest = (projectId: string, filename: string) =>
    rag.runtime.runPromise(Effect.gen(function*() {
      const ingestion = yield* DocumentIngestion
      const { document } = yield* ingestion.accept({
        projectId,
        filename,
        contentType: "text/plain",
        bytes: new TextEncoder().encode(paragraphs.join("\n\n"))
      })
      return yield* ingestion.process(document.id)
    }))

  test("a second document with the same passages is embedded from the cache; chunks, cache and progress agree", async () => {
    const first = await ingest("p_one", "pumps.txt")
    expect(first.status).toBe("ready")
    expect(first.chunkCount).toBeGreaterThan(3)
    const asked = inputs.length
    expect(asked).toBe(first.chunkCount)
    const second = await ingest("p_two", "pumps-copy.txt")
    expect(second.chunkCount).toBe(first.chunkCount)
    expect(inputs.length).toBe(asked)
    const rows = await rag.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ project: string; chunks: number; embedded: number; cache: number }>`
        SELECT d.project_id AS project, (SELECT count(*)::int FROM rag_chunks c WHERE c.document_id = d.id) AS chunks,
          d.chunks_embedded AS embedded, (SELECT count(*)::int FROM rag_embedding_cache) AS cache
        FROM rag_documents d ORDER BY d.project_id`))
    expect(rows).toEqual([
      { project: "p_one", chunks: first.chunkCount, embedded: first.chunkCount, cache: first.chunkCount },
      { project: "p_two", chunks: first.chunkCount, embedded: first.chunkCount, cache: first.chunkCount }
    ])
  }, 60_000)
})
