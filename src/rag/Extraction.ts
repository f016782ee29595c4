import { Data, Effect } from "effect"
import { htmlToSections, markdownToSections } from "./Html.ts"
import { Section } from "./Section.ts"

export type DocumentKind = "pdf" | "docx" | "text" | "markdown" | "html"

export const kindContentType: Record<DocumentKind, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  text: "text/plain",
  markdown: "text/markdown",
  html: "text/html"
}

export class ExtractionError extends Data.TaggedError("ExtractionError")<{
  readonly reason: "Unsupported" | "Empty" | "Corrupt" | "Encrypted"
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

interface TextItem {
  readonly str?: string
  readonly hasEOL?: boolean
}

/** Page by page: pdf.js parses lazily, so only one page's text content is held at a time. */
const extractPdf = (bytes: Uint8Array) =>
  Effect.tryPromise({
    // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
    // (A plain Uint8Array copy: pdf.js rejects Node Buffers, which is what file reads return.)
    // Parsers load on first use: most processes never extract a document.
    try: async () => (await import("unpdf")).getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }),
    catch: (e) =>
      e instanceof Error && e.name === "PasswordException"
        ? new ExtractionError({ reason: "Encrypted", message: "the PDF is password-protected" })
        : new ExtractionError({ reason: "Corrupt", message: "the PDF could not be parsed" })
  }).pipe(
    Effect.flatMap((pdf) =>
      Effect.forEach(
        Array.from({ length: pdf.numPages }, (_, i) => i + 1),
        (page) =>
          Effect.tryPromise({
            try: async () => {
              const content = await (await pdf.getPage(page)).getTextContent()
              const text = (content.items as Array<TextItem>)
                .map((item) => (item.str ?? "") + (item.hasEOL ? "\n" : ""))
                .join("")
              return { text: text.trim(), page } satisfies Section
            },
            catch: () => new ExtractionError({ reason: "Corrupt", message: `page ${page} of the PDF could not be read` })
          }),
        { concurrency: 1 }
      ).pipe(Effect.ensuring(Effect.promise(() => pdf.loadingTask.destroy())))
    )
  )

const extractDocx = (bytes: Uint8Array) =>
  Effect.tryPromise({
    try: async () => (await import("mammoth")).default.convertToHtml({ buffer: Buffer.from(bytes) }),
    catch: () => new ExtractionError({ reason: "Corrupt", message: "the DOCX could not be read" })
  }).pipe(Effect.map((result) => htmlToSections(result.value)))

/** Text of a document as sections (page / heading), never empty. */
export const extractSections = (kind: DocumentKind, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const sections: ReadonlyArray<Section> = kind === "pdf"
      ? yield* extractPdf(bytes)
      : kind === "docx"
      ? yield* extractDocx(bytes)
      : kind === "html"
      ? htmlToSections(new TextDecoder().decode(bytes))
      : kind === "markdown"
      ? markdownToSections(new TextDecoder().decode(bytes))
      : [{ text: new TextDecoder().decode(bytes) }]
    const nonEmpty = sections.filter((s) => s.text.trim() !== "")
    if (nonEmpty.length === 0) {
      return yield* new ExtractionError({
        reason: "Empty",
        message: kind === "pdf" ? "the PDF has no extractable text (scanned images are not supported)" : "the document has no text"
      })
    }
    return nonEmpty
  }).pipe(Effect.withSpan("Rag.extract", { attributes: { kind, bytes: bytes.length } }))
