import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SqlClient } from "@effect/sql"
import { Chunk, Effect, Fiber, Layer, Option, Stream } from "effect"
import { Embeddings } from "../../src/embeddings/Embeddings.ts"
import { EventBus } from "../../src/events/EventBus.ts"
import { DocumentIngestion, ingestionTopic } from "../../src/rag/DocumentIngestion.ts"
import { RagRepo } from "../../src/rag/RagRepo.ts"
import { RagSearch } from "../../src/rag/RagSearch.ts"
import { makeDocx, makeEncryptedPdf, makePdf, topics } from "../fixtures/rag/documents.ts"
import { createProjects, type makeRagRuntime, ragBackends } from "./setup.ts"

const ingest = (projectId: string, filename: string, contentType: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const ingestion = yield* DocumentIngestion
    const { document, deduplicated } = yield* ingestion.accept({ projectId, filename, contentType, bytes })
    const result = yield* ingestion.process(document.id)
    return { document, deduplicated, result }
  })

const search = (projectId: string, query: string, extra: Record<string, unknown> = {}) =>
  Effect.flatMap(RagSearch, (s) => s.search({ projectId, query, k: 3, ...extra }))

const countRows = (table: "rag_documents" | "rag_chunks", projectId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE project_id = ${projectId}`.pipe(
      Effect.map((r) => r[0].n)
    ))

for (const backend of ragBackends) describe(`ingestion and retrieval (service level, ${backend.name})`, () => {
  let rag: Awaited<ReturnType<typeof makeRagRuntime>>
  const run = <A, E>(effect: Effect.Effect<A, E, any>) => rag.runtime.runPromise(effect as Effect.Effect<A, E, never>)
  beforeAll(async () => {
    rag = await backend.open({ ingestBatchSize: 2, chunkMaxTokens: 60, chunkOverlapTokens: 10 })
    await run(createProjects("p_a", "p_b", "p_bad", "p_text"))
  }, 180_000)
  afterAll(() => rag.dispose(), 30_000)

  test("a question retrieves the right page of a real PDF", async () => {
    const pdf = await makePdf([topics.refunds, topics.shipping, topics.security, topics.volcano])
    const { result } = await run(ingest("p_a", "policies.pdf", "application/pdf", pdf))
    expect(result.status).toBe("ready")
    expect(result.chunkCount).toBeGreaterThanOrEqual(4)
    const found = await run(search("p_a", "how many days until my refund reaches my credit card?"))
    expect(found.hits[0].filename).toBe("policies.pdf")
    expect(found.hits[0].metadata.page).toBe(1)
    expect(found.hits[0].content).toContain("refund")
    const lava = await run(search("p_a", "which volcano erupts near Catania?", { mode: "vector" }))
    expect(lava.hits[0].metadata.page).toBe(4)
  }, 60_000)

  test("a DOCX is split at its headings and the heading is kept per chunk", async () => {
    const docx = await makeDocx([
      { heading: "Shipping", text: topics.shipping },
      { heading: "Account security", text: topics.security }
    ])
    const { result } = await run(ingest("p_a", "handbook.docx", "application/octet-stream", docx))
    expect(result.status).toBe("ready")
    const found = await run(search("p_a", "should staff turn on two-factor login?", {
      filters: { contentTypes: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"] }
    }))
    expect(found.hits[0].metadata.heading).toBe("Account security")
    expect(found.hits.every((h) => h.filename === "handbook.docx")).toBe(true)
  }, 60_000)

  test("Markdown, HTML and plain text are ingested with their headings", async () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    await run(ingest("p_b", "notes.md", "text/markdown", enc(`# Volcanoes\n\n${topics.volcano}\n\n## Shipping\n\n${topics.shipping}`)))
    await run(ingest("p_b", "page.html", "text/html", enc(
      `<html><head><style>p{}</style><script>var secret = 1</script></head><body><h2>Refund policy</h2><p>${topics.refunds}</p></body></html>`
    )))
    await run(ingest("p_b", "plain.txt", "text/plain", enc(topics.security)))
    const html = await run(search("p_b", "money back after returning a parcel"))
    expect(html.hits[0].filename).toBe("page.html")
    expect(html.hits[0].metadata.heading).toBe("Refund policy")
    expect(html.hits[0].content).not.toContain("secret")
    const md = await run(search("p_b", "lava and ash from Etna", { filters: { metadata: { heading: "Volcanoes" } } }))
    expect(md.hits.length).toBeGreaterThan(0)
    expect(md.hits.every((h) => h.metadata.heading === "Volcanoes")).toBe(true)
  }, 60_000)

  test("projects are isolated: another project's chunks are never returned", async () => {
    const fromB = await run(search("p_b", "Mount Etna eruptions", { k: 10 }))
    expect(fromB.hits.every((h) => h.filename !== "policies.pdf")).toBe(true)
    const unknown = await run(search("p_nobody", "Mount Etna eruptions"))
    expect(unknown.hits).toEqual([])
  })

  test("the same content twice is one document (content-hash de-duplication)", async () => {
    const bytes = new TextEncoder().encode("A unique note about dedupe: zebra crossing rules.")
    const first = await run(ingest("p_a", "a.txt", "text/plain", bytes))
    const second = await run(ingest("p_a", "b.txt", "text/plain", bytes))
    expect(first.deduplicated).toBe(false)
    expect(second.deduplicated).toBe(true)
    expect(second.document.id).toBe(first.document.id)
  })

  test("bad input is refused with a reason and leaves nothing stored", async () => {
    const reject = (filename: string, contentType: string, bytes: Uint8Array) =>
      run(Effect.flip(Effect.flatMap(DocumentIngestion, (i) => i.accept({ projectId: "p_bad", filename, contentType, bytes }))))
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xfe])
    expect(await reject("empty.txt", "text/plain", new Uint8Array())).toMatchObject({ reason: "Empty" })
    expect(await reject("blank.md", "text/markdown", new TextEncoder().encode("\n\n   \n"))).toMatchObject({ reason: "Empty" })
    expect(await reject("image.png", "image/png", png)).toMatchObject({ reason: "Unsupported" })
    expect(await reject("broken.pdf", "application/pdf", new TextEncoder().encode("%PDF-1.7\ngarbage"))).toMatchObject({
      reason: "Corrupt"
    })
    expect(await reject("fake.docx", "application/octet-stream", new TextEncoder().encode("not a zip"))).toMatchObject({
      reason: "Corrupt"
    })
    expect(await reject("locked.pdf", "application/pdf", await makeEncryptedPdf())).toMatchObject({ reason: "Encrypted" })
    const big = new Uint8Array(11 * 1024 * 1024).fill(0x61)
    expect(await reject("big.txt", "text/plain", big)).toMatchObject({ reason: "TooLarge" })
    expect(await run(countRows("rag_documents", "p_bad"))).toBe(0)
  }, 60_000)

  test("progress events are published and minScore filters weak matches", async () => {
    const events = await run(Effect.gen(function*() {
      const bus = yield* EventBus
      const ingestion = yield* DocumentIngestion
      const text = [topics.refunds, topics.shipping, topics.security, topics.volcano].join("\n\n")
      const { document } = yield* ingestion.accept({
        projectId: "p_b",
        filename: "all.txt",
        contentType: "text/plain",
        bytes: new TextEncoder().encode(text)
      })
      const fiber = yield* bus.subscribe(ingestionTopic(document.id)).pipe(
        Stream.takeUntil((e) => e.type === "rag.ingestion.completed"),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("50 millis")
      yield* ingestion.process(document.id)
      return Chunk.toArray(yield* Fiber.join(fiber))
    }))
    expect(events[0].type).toBe("rag.ingestion.started")
    expect(events.some((e) => e.type === "rag.ingestion.progress")).toBe(true)
    expect(events.at(-1)?.type).toBe("rag.ingestion.completed")
    expect(events.every((e) => e.projectId === "p_b")).toBe(true)
    const strict = await run(search("p_b", "volcano eruptions", { minScore: 0.99, k: 10 }))
    expect(strict.hits).toEqual([])
  }, 60_000)

  test("a crash mid-ingestion resumes from the stored chunks; delete removes chunks and vectors", async () => {
    const text = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}: ${Object.values(topics)[i % 4]}`).join("\n\n")
    const result = await run(Effect.gen(function*() {
      const ingestion = yield* DocumentIngestion
      const repo = yield* RagRepo
      const { document } = yield* ingestion.accept({
        projectId: "p_a",
        filename: "long.txt",
        contentType: "text/plain",
        bytes: new TextEncoder().encode(text)
      })
      // The process "dies" (a defect, not a handled failure) on the third embedding batch.
      const real = yield* Embeddings
      let calls = 0
      const dying = Layer.succeed(Embeddings, {
        ...real,
        embed: (texts: ReadonlyArray<string>) => ++calls >= 3 ? Effect.die("crash") : real.embed(texts)
      })
      const crashed = yield* Effect.provide(
        Effect.flatMap(DocumentIngestion, (i) => i.process(document.id)),
        DocumentIngestion.Default.pipe(Layer.provide(dying))
      ).pipe(Effect.exit)
      const partial = yield* repo.storedChunkCount(document.id)
      const resumed = yield* ingestion.process(document.id)
      const final = yield* repo.find("p_a", document.id)
      return { crashed, partial, resumed, final: Option.getOrThrow(final), id: document.id }
    }))
    expect(result.crashed._tag).toBe("Failure")
    expect(result.partial).toBeGreaterThan(0)
    expect(result.partial).toBeLessThan(result.resumed.chunkCount)
    expect(result.resumed.status).toBe("ready")
    expect(result.final.chunksEmbedded).toBe(result.resumed.chunkCount)
    const stored = await run(Effect.flatMap(RagRepo, (r) => r.storedChunkCount(result.id)))
    expect(stored).toBe(result.resumed.chunkCount)

    const before = await run(countRows("rag_chunks", "p_a"))
    const removed = await run(Effect.flatMap(RagRepo, (r) => r.remove("p_a", result.id)))
    expect(removed).toBe(true)
    expect(await run(countRows("rag_chunks", "p_a"))).toBe(before - result.resumed.chunkCount)
    expect(await run(Effect.flatMap(RagRepo, (r) => r.remove("p_b", "doc_missing")))).toBe(false)
  }, 60_000)

  test("text mode: a question need not share every word with the passage (any word, IDF-weighted)", async () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    await run(ingest("p_text", "kiln.md", "text/markdown", enc(
      "# Kiln sensors\n\nThe thermocouples in the kiln are checked against a reference probe and recalibrated every six months by the maintenance crew."
    )))
    await run(ingest("p_text", "office.md", "text/markdown", enc(
      "# Office routines\n\nHow often is the office cleaned? The cleaning crew comes every evening, and the windows are washed often in spring. " +
        "Coffee machines are descaled weekly and the fridge is emptied every Friday."
    )))
    // Every question has words the kiln passage lacks ("how", "long", "between", "calibrations", "sensor", "kiln's"...).
    for (const query of [
      "how long between thermocouple calibrations?",
      "who recalibrates the kiln's temperature probes?",
      "is there a reference for checking a thermocouple sensor in the furnace?"
    ]) {
      const found = await run(search("p_text", query, { mode: "text" }))
      expect(found.hits.length).toBeGreaterThan(0)
      expect(found.hits[0].filename).toBe("kiln.md")
    }
    // A question of stop words only matches nothing rather than everything.
    expect((await run(search("p_text", "how is it and what of the", { mode: "text" }))).hits).toEqual([])
  }, 60_000)

  test("hybrid: \"how often is the thermocouple recalibrated?\" ranks the kiln document first", async () => {
    const query = "how often is the thermocouple recalibrated?"
    const hybrid = await run(search("p_text", query))
    expect(hybrid.hits[0].filename).toBe("kiln.md")
    expect(hybrid.hits[0].content).toContain("recalibrated every six months")
    const text = await run(search("p_text", query, { mode: "text" }))
    expect(text.hits[0].filename).toBe("kiln.md")
  }, 60_000)

  test("progress: chunksEmbedded rises to the chunk count, in events and in the stored document while it runs", async () => {
    const observed = await run(Effect.gen(function*() {
      const bus = yield* EventBus
      const repo = yield* RagRepo
      const ingestion = yield* DocumentIngestion
      const text = Array.from({ length: 10 }, (_, i) => `Section ${i}. ${Object.values(topics)[i % 4]}`).join("\n\n")
      const { document } = yield* ingestion.accept({
        projectId: "p_b",
        filename: "progress.txt",
        contentType: "text/plain",
        bytes: new TextEncoder().encode(text)
      })
      // At each progress event, what the document API would answer (GET /rag/documents/:id reads this row).
      const fiber = yield* bus.subscribe(ingestionTopic(document.id)).pipe(
        Stream.takeUntil((e) => e.type === "rag.ingestion.completed"),
        Stream.mapEffect((e) =>
          Effect.map(repo.find("p_b", document.id), (doc) => ({
            event: { type: e.type, data: e.data as { readonly chunkCount?: number; readonly chunksEmbedded?: number } },
            stored: Option.getOrThrow(doc)
          }))
        ),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("50 millis")
      const result = yield* ingestion.process(document.id)
      return { result, seen: Chunk.toArray(yield* Fiber.join(fiber)) }
    }))
    const total = observed.result.chunkCount
    expect(total).toBeGreaterThan(4)
    const progress = observed.seen.filter((s) => s.event.type === "rag.ingestion.progress")
    const embedded = progress.map((s) => s.event.data.chunksEmbedded ?? -1)
    // Batches of 2: one event per batch, strictly rising, ending at the total.
    expect(progress.length).toBe(Math.ceil(total / 2))
    expect(embedded).toEqual([...embedded].sort((a, b) => a - b))
    expect(new Set(embedded).size).toBe(embedded.length)
    expect(embedded.at(-1)).toBe(total)
    expect(progress.every((s) => s.event.data.chunkCount === total)).toBe(true)
    // The stored row is never behind the event that announced it, and says "processing" until the end.
    const mid = progress.find((s) => (s.event.data.chunksEmbedded ?? total) < total)!
    expect(mid.stored.status).toBe("processing")
    expect(mid.stored.chunkCount).toBe(total)
    expect(mid.stored.chunksEmbedded).toBeGreaterThanOrEqual(mid.event.data.chunksEmbedded ?? total)
    expect(observed.seen.at(-1)?.stored).toMatchObject({ status: "ready", chunksEmbedded: total })
  }, 60_000)
})
