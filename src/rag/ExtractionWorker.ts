/**
 * The extraction worker: one document per worker, which the main thread
 * terminates when it answers, runs out of time or grows the process past its
 * memory cap (Bun workers ignore `resourceLimits`). pdf.js and mammoth are
 * synchronous for long stretches and allocate freely: here they stall and
 * bloat only this thread.
 */
import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import { htmlToSections, markdownToSections } from "./Html.ts"
import { checkDocx, checkPdf, type ExtractionLimits, LimitExceeded, textBudget } from "./ExtractionLimits.ts"
import type { Section } from "./Section.ts"

declare const self: Worker

/**
 * Below the event loop's priority: on a busy machine the scheduler gives the
 * parsing thread what the HTTP thread leaves (Linux nice values are per
 * thread; /proc/thread-self names this thread's id). Best effort elsewhere.
 */
try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 10)
} catch {
  // not Linux, or not permitted: same priority as the rest of the process
}

export type WorkerKind = "pdf" | "docx" | "text" | "markdown" | "html"

export interface ExtractRequest {
  readonly kind: WorkerKind
  readonly bytes: Uint8Array
  readonly limits: ExtractionLimits
}

export type ExtractReply =
  | { readonly ok: true; readonly sections: ReadonlyArray<Section> }
  | { readonly ok: false; readonly reason: "Corrupt" | "Encrypted" | "TooLarge"; readonly message: string }

class Refused extends Error {
  constructor(readonly reason: "Corrupt" | "Encrypted", message: string) {
    super(message)
  }
}

interface TextItem {
  readonly str?: string
  readonly hasEOL?: boolean
}

const extractPdf = async (bytes: Uint8Array, limits: ExtractionLimits): Promise<Array<Section>> => {
  checkPdf(bytes, limits)
  const { getDocumentProxy } = await import("unpdf")
  // pdf.js takes ownership of (detaches) the buffer it is given, and rejects Node Buffers: a plain copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }).catch((e: unknown) => {
    throw e instanceof Error && e.name === "PasswordException"
      ? new Refused("Encrypted", "the PDF is password-protected")
      : new Refused("Corrupt", "the PDF could not be parsed")
  })
  if (pdf.numPages > limits.maxPages) {
    throw new LimitExceeded(`the PDF has ${pdf.numPages} pages; the limit is ${limits.maxPages} (RAG_EXTRACT_MAX_PAGES)`)
  }
  const count = textBudget(limits, "PDF")
  const sections: Array<Section> = []
  for (let page = 1; page <= pdf.numPages; page++) {
    const content = await pdf.getPage(page).then((p) => p.getTextContent()).catch(() => {
      throw new Refused("Corrupt", `page ${page} of the PDF could not be read`)
    })
    const text = (content.items as Array<TextItem>).map((item) => (item.str ?? "") + (item.hasEOL ? "\n" : "")).join("")
    count(text)
    sections.push({ text: text.trim(), page })
  }
  return sections
}

const extractDocx = async (bytes: Uint8Array, limits: ExtractionLimits): Promise<Array<Section>> => {
  checkDocx(bytes, limits)
  const mammoth = (await import("mammoth")).default
  const result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }).catch(() => {
    throw new Refused("Corrupt", "the DOCX could not be read")
  })
  return htmlToSections(result.value)
}

const extract = async ({ bytes, kind, limits }: ExtractRequest): Promise<Array<Section>> => {
  const sections = kind === "pdf"
    ? await extractPdf(bytes, limits)
    : kind === "docx"
    ? await extractDocx(bytes, limits)
    : kind === "html"
    ? htmlToSections(new TextDecoder().decode(bytes))
    : kind === "markdown"
    ? markdownToSections(new TextDecoder().decode(bytes))
    : [{ text: new TextDecoder().decode(bytes) }]
  if (kind !== "pdf") {
    const count = textBudget(limits, kind === "docx" ? "DOCX" : "document")
    for (const s of sections) count(s.text)
  }
  if (sections.length > limits.maxParagraphs) {
    throw new LimitExceeded(`the document has more than ${limits.maxParagraphs} sections (RAG_EXTRACT_MAX_PARAGRAPHS)`)
  }
  return sections
}

self.onmessage = (event: MessageEvent<ExtractRequest>) => {
  extract(event.data).then(
    (sections) => postMessage({ ok: true, sections } satisfies ExtractReply),
    (e: unknown) =>
      postMessage(
        (e instanceof LimitExceeded
          ? { ok: false, reason: "TooLarge", message: e.message }
          : e instanceof Refused
          ? { ok: false, reason: e.reason, message: e.message }
          : { ok: false, reason: "Corrupt", message: "the document could not be read" }) satisfies ExtractReply
      )
  )
}
