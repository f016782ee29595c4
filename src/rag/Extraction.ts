import { Data, Effect } from "effect"
import type { ExtractionLimits } from "./ExtractionLimits.ts"
import type { ExtractReply, ExtractRequest } from "./ExtractionWorker.ts"
import type { Section } from "./Section.ts"

export type DocumentKind = "pdf" | "docx" | "text" | "markdown" | "html"

export const kindContentType: Record<DocumentKind, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  text: "text/plain",
  markdown: "text/markdown",
  html: "text/html"
}

export class ExtractionError extends Data.TaggedError("ExtractionError")<{
  readonly reason: "Unsupported" | "Empty" | "Corrupt" | "Encrypted" | "TooLarge"
  readonly message: string
}> {}

const extensionOf = (filename: string) => {
  const dot = filename.lastIndexOf(".")
  return dot < 0 ? "" : filename.slice(dot + 1).toLowerCase()
}

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>) => magic.every((b, i) => bytes[i] === b)
const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d] // %PDF-
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]

const decodeUtf8 = (bytes: Uint8Array) => {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    // NUL bytes mean a binary file that happens to decode.
    return text.includes("\u0000") ? undefined : text
  } catch {
    return undefined
  }
}

/**
 * What a file is, from its bytes first (magic numbers), then its name and the
 * declared content type. A name that promises PDF/DOCX over other bytes is
 * "Corrupt"; anything that is neither a known binary nor UTF-8 text is "Unsupported".
 */
export const detectKind = (
  filename: string,
  contentType: string,
  bytes: Uint8Array
): Effect.Effect<DocumentKind, ExtractionError> => {
  const ext = extensionOf(filename)
  const type = contentType.split(";")[0].trim().toLowerCase()
  if (bytes.length === 0) return Effect.fail(new ExtractionError({ reason: "Empty", message: "the file is empty" }))
  if (startsWith(bytes, PDF_MAGIC)) return Effect.succeed("pdf")
  if (startsWith(bytes, ZIP_MAGIC) && (ext === "docx" || type === kindContentType.docx)) return Effect.succeed("docx")
  if (ext === "pdf" || type === kindContentType.pdf || ext === "docx" || type === kindContentType.docx) {
    return Effect.fail(new ExtractionError({ reason: "Corrupt", message: `${filename} is not a valid ${ext || type} file` }))
  }
  const textual = ["txt", "text", "md", "markdown", "html", "htm", ""].includes(ext) ||
    type.startsWith("text/") || type === "application/xhtml+xml"
  if (!textual || decodeUtf8(bytes.subarray(0, 64 * 1024)) === undefined && decodeUtf8(bytes) === undefined) {
    return Effect.fail(
      new ExtractionError({
        reason: "Unsupported",
        message: `unsupported document type (${type || "unknown"}, .${ext || "?"}): upload PDF, DOCX, TXT, Markdown or HTML`
      })
    )
  }
  if (ext === "md" || ext === "markdown" || type === "text/markdown") return Effect.succeed("markdown")
  if (ext === "html" || ext === "htm" || type === "text/html" || type === "application/xhtml+xml") {
    return Effect.succeed("html")
  }
  return Effect.succeed("text")
}

/** The limits of one extraction plus how long and how much memory its worker may take. */
export interface ExtractionSettings extends ExtractionLimits {
  readonly extractTimeoutMs: number
  /** Growth of the process's RSS while the worker runs (Bun workers ignore `resourceLimits`). */
  readonly extractMaxMemoryMb: number
  readonly extractConcurrency: number
}

const tooLarge = (message: string) => new ExtractionError({ reason: "TooLarge", message })

/**
 * Runs one extraction in a fresh worker and ends the worker when it answers,
 * after `extractTimeoutMs`, or once the process has grown by more than
 * `extractMaxMemoryMb` above its lowest RSS since the extraction started
 * (checked every 50 ms; the lowest point, not the first sample, so a garbage
 * collection elsewhere in the process cannot hide the worker's growth): the
 * event loop never parses, and the memory of a bomb is returned when the worker ends.
 */
const inWorker = (kind: DocumentKind, bytes: Uint8Array, settings: ExtractionSettings) =>
  Effect.async<ReadonlyArray<Section>, ExtractionError>((resume) => {
    const worker = new Worker(new URL("./ExtractionWorker.ts", import.meta.url).href)
    let lowest = process.memoryUsage.rss()
    let settled = false
    const settle = (result: Effect.Effect<ReadonlyArray<Section>, ExtractionError>) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      clearInterval(watchdog)
      worker.terminate()
      resume(result)
    }
    const deadline = setTimeout(
      () => settle(Effect.fail(tooLarge(`extracting the document took longer than ${settings.extractTimeoutMs} ms (RAG_EXTRACT_TIMEOUT_MS)`))),
      settings.extractTimeoutMs
    )
    const watchdog = setInterval(() => {
      const rss = process.memoryUsage.rss()
      lowest = Math.min(lowest, rss)
      if (rss - lowest > settings.extractMaxMemoryMb * 1024 * 1024) {
        settle(Effect.fail(tooLarge(`extracting the document needed more than ${settings.extractMaxMemoryMb} MB (RAG_EXTRACT_MAX_MEMORY_MB)`)))
      }
    }, 50)
    worker.onmessage = (event: MessageEvent<ExtractReply>) => {
      const reply = event.data
      settle(reply.ok ? Effect.succeed(reply.sections) : Effect.fail(new ExtractionError({ reason: reply.reason, message: reply.message })))
    }
    worker.onerror = () => settle(Effect.fail(new ExtractionError({ reason: "Corrupt", message: "the document could not be read" })))
    const limits: ExtractionLimits = {
      maxPages: settings.maxPages,
      maxParagraphs: settings.maxParagraphs,
      maxTextBytes: settings.maxTextBytes,
      maxInflatedBytes: settings.maxInflatedBytes,
      maxInflateRatio: settings.maxInflateRatio
    }
    worker.postMessage({ kind, bytes, limits } satisfies ExtractRequest)
    return Effect.sync(() => settle(Effect.interrupt))
  })

// One gate per process: each extraction may take a worker thread and up to extractMaxMemoryMb.
let gate: Effect.Semaphore | undefined

/** Text of a document as sections (page / heading), never empty; off the event loop, within the limits. */
export const extractSections = (kind: DocumentKind, bytes: Uint8Array, settings: ExtractionSettings) =>
  Effect.gen(function*() {
    gate ??= yield* Effect.makeSemaphore(Math.max(1, settings.extractConcurrency))
    const sections = yield* gate.withPermits(1)(inWorker(kind, bytes, settings))
    const nonEmpty = sections.filter((s) => s.text.trim() !== "")
    if (nonEmpty.length === 0) {
      return yield* new ExtractionError({
        reason: "Empty",
        message: kind === "pdf" ? "the PDF has no extractable text (scanned images are not supported)" : "the document has no text"
      })
    }
    return nonEmpty
  }).pipe(Effect.withSpan("Rag.extract", { attributes: { kind, bytes: bytes.length } }))
