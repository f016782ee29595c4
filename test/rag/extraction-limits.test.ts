import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Document, Packer, Paragraph } from "docx"
import { Effect, Either } from "effect"
import { createDeflate } from "node:zlib"
import { PDFDocument, PDFName } from "pdf-lib"
import { type ExtractionSettings, extractSections } from "../../src/rag/Extraction.ts"
import { signUp, type SignedUp } from "../support/auth.ts"
import { waitFor } from "../support/process.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { rssMb, startStallProbe } from "../support/stallProbe.ts"

/**
 * Documents that expand far past their upload size (issue 17): each is
 * refused with 413 and the limit's name, within seconds, while the platform
 * keeps answering and its memory stays bounded. Extraction runs in a worker.
 */
let platform: TestPlatform
let alice: SignedUp

const DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

const upload = (filename: string, type: string, bytes: Uint8Array) => {
  const form = new FormData()
  form.append("projectId", alice.projectId)
  form.append("file", new Blob([bytes.slice().buffer as ArrayBuffer], { type }), filename)
  return fetch(`${platform.baseUrl}/rag/documents`, { method: "POST", headers: alice.headers, body: form })
}

/** 200,000 one-letter paragraphs: a ~50 KB DOCX (the 1M-paragraph one took 34 s and 7.1 GB). */
const manyParagraphsDocx = async (count: number, text = "x") =>
  new Uint8Array(await Packer.toBuffer(new Document({ sections: [{ children: Array.from({ length: count }, () => new Paragraph({ text })) }] })))

/** Blank pages: the 10,000-page PDF took 59 s and 1.9 GB. */
const manyPagesPdf = async (pages: number) => {
  const doc = await PDFDocument.create()
  for (let i = 0; i < pages; i++) doc.addPage([200, 200])
  return new Uint8Array(await doc.save())
}

/** One page whose content stream is `mb` MB of "q Q " operators, deflated (a few hundred KB on the wire). */
const flateBombPdf = async (mb: number) => {
  const deflate = createDeflate({ level: 9 })
  const parts: Array<Buffer> = []
  deflate.on("data", (c: Buffer) => parts.push(c))
  const ended = new Promise((resolve) => deflate.on("end", resolve))
  const chunk = Buffer.from("q Q ".repeat(256 * 1024))
  for (let i = 0; i < mb; i++) deflate.write(chunk)
  deflate.end()
  await ended
  const doc = await PDFDocument.create()
  const page = doc.addPage([200, 200])
  const stream = doc.context.stream(Buffer.concat(parts), { Filter: "FlateDecode" })
  page.node.set(PDFName.of("Contents"), doc.context.register(stream))
  return new Uint8Array(await doc.save())
}

/** Polls /health every 50 ms until stopped: every status seen and the slowest answer. */
const watchHealth = () => {
  const statuses: Array<number> = []
  let slowestMs = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const started = performance.now()
      statuses.push((await fetch(`${platform.baseUrl}/health`)).status)
      slowestMs = Math.max(slowestMs, performance.now() - started)
      await Bun.sleep(50)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { statuses, slowestMs }
    }
  }
}

/** Uploads a hostile document and measures what the platform went through meanwhile. */
const refused = async (filename: string, type: string, bytes: Uint8Array) => {
  Bun.gc(true)
  const rssBefore = rssMb()
  const probe = startStallProbe()
  const health = watchHealth()
  const started = performance.now()
  const res = await upload(filename, type, bytes)
  const elapsedMs = performance.now() - started
  const body = await res.json()
  const { maxBusyStallMs, maxStallMs } = probe.stop()
  const { slowestMs, statuses } = await health.stop()
  const rssGrowthMb = rssMb() - rssBefore
  console.info(
    `${filename} (${bytes.length} bytes): ${res.status} in ${elapsedMs.toFixed(0)} ms, max stall ${maxStallMs.toFixed(0)} ms (loop busy ${maxBusyStallMs.toFixed(0)} ms), ` +
      `slowest /health ${slowestMs.toFixed(0)} ms, RSS +${rssGrowthMb.toFixed(0)} MB: ${body.message}; stalls > 50 ms at ${JSON.stringify(probe.long)}`
  )
  return { status: res.status, body, elapsedMs, maxStallMs, maxBusyStallMs, statuses, rssGrowthMb }
}

const expectContained = (r: Awaited<ReturnType<typeof refused>>) => {
  expect(r.elapsedMs).toBeLessThan(30_000)
  expect(r.statuses.length).toBeGreaterThan(0)
  expect(r.statuses.every((s) => s === 200)).toBe(true)
  // Event-loop CPU held past a tick under 100 ms; wall delay (which also counts other tenants of this machine's 2 cores) under 1 s.
  expect(r.maxBusyStallMs).toBeLessThan(100)
  expect(r.maxStallMs).toBeLessThan(1_000)
  expect(r.rssGrowthMb).toBeLessThan(500)
}

beforeAll(async () => {
  platform = await startPlatform()
  alice = await signUp(platform.baseUrl)
}, 180_000)
afterAll(() => platform?.stop(), 30_000)

describe("document extraction limits", () => {
  test("a DOCX with 200,000 paragraphs is refused before mammoth runs", async () => {
    const r = await refused("paragraphs.docx", DOCX_TYPE, await manyParagraphsDocx(200_000))
    expect(r.status).toBe(413)
    expect(r.body._tag).toBe("PayloadTooLarge")
    expect(r.body.message).toMatch(/RAG_EXTRACT_MAX_(PARAGRAPHS|INFLATE_RATIO|INFLATED_BYTES)/)
    expectContained(r)
  }, 120_000)

  test("a DOCX over the paragraph limit (25,000, too little XML for the ratio check) is refused by its count", async () => {
    const r = await refused("25k.docx", DOCX_TYPE, await manyParagraphsDocx(25_000))
    expect(r.status).toBe(413)
    expect(r.body.message).toBe("the DOCX has more than 20000 paragraphs (RAG_EXTRACT_MAX_PARAGRAPHS)")
    expectContained(r)
  }, 120_000)

  test("a 10,000-page PDF is refused by its page count", async () => {
    const r = await refused("pages.pdf", "application/pdf", await manyPagesPdf(10_000))
    expect(r.status).toBe(413)
    expect(r.body.message).toBe("the PDF has 10000 pages; the limit is 2000 (RAG_EXTRACT_MAX_PAGES)")
    expectContained(r)
  }, 120_000)

  test("a flate bomb (256 MB of operators in one content stream) is refused before pdf.js inflates it", async () => {
    const r = await refused("bomb.pdf", "application/pdf", await flateBombPdf(256))
    expect(r.status).toBe(413)
    expect(r.body.message).toMatch(/RAG_EXTRACT_MAX_INFLATE(_RATIO|D_BYTES)/)
    expectContained(r)
  }, 120_000)

  test("nothing is stored for a refused document; an ordinary one is still accepted", async () => {
    const listed = await (await fetch(`${platform.baseUrl}/rag/documents?projectId=${alice.projectId}`, { headers: alice.headers })).json()
    expect(listed.documents).toEqual([])
    const ok = await upload("fine.docx", DOCX_TYPE, await manyParagraphsDocx(50, "Refunds are paid back within five business days."))
    expect(ok.status).toBe(202)
    const { document } = await ok.json()
    await waitFor(async () => {
      const doc = await (await fetch(`${platform.baseUrl}/rag/documents/${document.id}`, { headers: alice.headers })).json()
      if (doc.status === "failed") throw new Error(doc.error)
      return doc.status === "ready"
    }, 60_000)
  }, 60_000)
})

describe("the extraction worker's time and memory caps", () => {
  const settings: ExtractionSettings = {
    maxPages: 2_000,
    maxParagraphs: 20_000,
    maxTextBytes: 8 * 1024 * 1024,
    maxInflatedBytes: 256 * 1024 * 1024,
    maxInflateRatio: 100,
    extractTimeoutMs: 60_000,
    extractMaxMemoryMb: 1024,
    extractConcurrency: 2
  }
  const extract = (bytes: Uint8Array, overrides: Partial<ExtractionSettings>) =>
    Effect.runPromise(Effect.either(extractSections("pdf", bytes, { ...settings, ...overrides })))

  test("past its wall time the worker is terminated and the document refused", async () => {
    const pdf = await manyPagesPdf(1_500)
    const started = performance.now()
    const result = await extract(pdf, { extractTimeoutMs: 200 })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(Either.isLeft(result) && result.left).toMatchObject({
      reason: "TooLarge",
      message: "extracting the document took longer than 200 ms (RAG_EXTRACT_TIMEOUT_MS)"
    })
  }, 60_000)

  test("past its memory cap the worker is terminated and the document refused", async () => {
    const pdf = await manyPagesPdf(1_500)
    const result = await extract(pdf, { extractMaxMemoryMb: 1 })
    expect(Either.isLeft(result) && result.left).toMatchObject({
      reason: "TooLarge",
      message: "extracting the document needed more than 1 MB (RAG_EXTRACT_MAX_MEMORY_MB)"
    })
  }, 60_000)

  test("within the limits the text comes back page by page", async () => {
    const doc = await PDFDocument.create()
    const font = await doc.embedFont("Helvetica")
    for (const text of ["first page", "second page"]) doc.addPage([300, 200]).drawText(text, { x: 20, y: 100, size: 12, font })
    const result = await extract(new Uint8Array(await doc.save()), {})
    expect(Either.getOrThrow(result)).toEqual([{ text: "first page", page: 1 }, { text: "second page", page: 2 }])
  }, 60_000)
})
