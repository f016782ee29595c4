import { inflateRawSync, inflateSync } from "node:zlib"

/**
 * What one document may cost to extract. Checked inside the extraction
 * worker, before and while the parsers run: a small upload can expand to
 * gigabytes (a flate bomb, a DOCX with a million empty paragraphs).
 */
export interface ExtractionLimits {
  readonly maxPages: number
  /** DOCX paragraphs (counted in the XML before mammoth runs) and sections of any document. */
  readonly maxParagraphs: number
  /** UTF-8 bytes of extracted text. */
  readonly maxTextBytes: number
  /** Total bytes the document's compressed parts (zip entries, PDF flate streams) expand to. */
  readonly maxInflatedBytes: number
  /** Expansion of one compressed part beyond INFLATE_FLOOR_BYTES, as a multiple of its compressed size. */
  readonly maxInflateRatio: number
}

/** A document over a limit: refused with this message (413). */
export class LimitExceeded extends Error {}

/** Parts that expand to less than this are never refused for their ratio (small, highly repetitive XML is normal). */
export const INFLATE_FLOOR_BYTES = 10 * 1024 * 1024

const MiB = (n: number) => `${Math.round(n / 1024 / 1024)} MB`

/** Counts inflated bytes across one document's parts and refuses the part that crosses a limit. */
const inflateBudget = (limits: ExtractionLimits, what: string) => {
  let total = 0
  return {
    /** Inflates one part (never more than its allowance, so a bomb stops at the cap) and counts it. */
    inflate: (data: Uint8Array, raw: boolean): Buffer | undefined => {
      const remaining = limits.maxInflatedBytes - total
      const byRatio = Math.max(INFLATE_FLOOR_BYTES, limits.maxInflateRatio * data.length)
      const cap = Math.min(remaining, byRatio)
      let out: Buffer
      try {
        // Output above maxOutputLength throws at once: the bomb is never held in memory whole.
        out = raw ? inflateRawSync(data, { maxOutputLength: cap + 1 }) : inflateSync(data, { maxOutputLength: cap + 1 })
      } catch (e) {
        // Anything but the cap (a broken stream) is left to the parser to report.
        if ((e as { code?: string }).code !== "ERR_BUFFER_TOO_LARGE") return undefined
        throw new LimitExceeded(
          cap === remaining
            ? `the ${what}'s compressed parts expand to more than ${MiB(limits.maxInflatedBytes)} (RAG_EXTRACT_MAX_INFLATED_BYTES)`
            : `a compressed part of the ${what} expands more than ${limits.maxInflateRatio} times (RAG_EXTRACT_MAX_INFLATE_RATIO)`
        )
      }
      if (out.length > cap) {
        throw new LimitExceeded(`the ${what}'s compressed parts expand to more than ${MiB(limits.maxInflatedBytes)} (RAG_EXTRACT_MAX_INFLATED_BYTES)`)
      }
      total += out.length
      return out
    }
  }
}

const u16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8)
const u32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 0x1000000

const MAX_ZIP_ENTRIES = 2000

/**
 * Reads a DOCX's zip central directory and inflates every entry under the
 * budget (the directory's declared sizes are the attacker's word: the real
 * output is what counts), then counts paragraphs (`<w:p>`, any prefix) in
 * word/document.xml. Throws LimitExceeded; returns nothing when the zip is
 * not readable (mammoth then reports it as corrupt).
 */
export const checkDocx = (bytes: Uint8Array, limits: ExtractionLimits): void => {
  let eocd = -1
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--) {
    if (u32(bytes, i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) return
  const count = u16(bytes, eocd + 10)
  const offset = u32(bytes, eocd + 16)
  if (count > MAX_ZIP_ENTRIES) throw new LimitExceeded(`the DOCX holds more than ${MAX_ZIP_ENTRIES} files`)
  const budget = inflateBudget(limits, "DOCX")
  let declared = 0
  let p = offset
  for (let n = 0; n < count && p + 46 <= bytes.length && u32(bytes, p) === 0x02014b50; n++) {
    const method = u16(bytes, p + 10)
    const compressed = u32(bytes, p + 20)
    const uncompressed = u32(bytes, p + 24)
    const nameLength = u16(bytes, p + 28)
    const local = u32(bytes, p + 42)
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength))
    p += 46 + nameLength + u16(bytes, p + 30) + u16(bytes, p + 32)
    // Zip64 markers: sizes over 4 GB are not a document anyone uploads.
    if (compressed === 0xffffffff || uncompressed === 0xffffffff) {
      throw new LimitExceeded(`the DOCX's compressed parts expand to more than ${MiB(limits.maxInflatedBytes)} (RAG_EXTRACT_MAX_INFLATED_BYTES)`)
    }
    declared += uncompressed
    if (declared > limits.maxInflatedBytes) {
      throw new LimitExceeded(`the DOCX's compressed parts expand to more than ${MiB(limits.maxInflatedBytes)} (RAG_EXTRACT_MAX_INFLATED_BYTES)`)
    }
    if (local + 30 > bytes.length || u32(bytes, local) !== 0x04034b50) continue
    const start = local + 30 + u16(bytes, local + 26) + u16(bytes, local + 28)
    const data = bytes.subarray(start, Math.min(bytes.length, start + compressed))
    const content = method === 8 ? budget.inflate(data, true) : method === 0 ? Buffer.from(data) : undefined
    if (content !== undefined && name === "word/document.xml") {
      const paragraphs = countParagraphs(content.toString("utf8"), limits.maxParagraphs)
      if (paragraphs > limits.maxParagraphs) {
        throw new LimitExceeded(`the DOCX has more than ${limits.maxParagraphs} paragraphs (RAG_EXTRACT_MAX_PARAGRAPHS)`)
      }
    }
  }
}

/** `<w:p>` / `<w:p …>` / `<w:p/>` with any namespace prefix (a DrawingML `<a:p>` counts too: an overcount is safe). */
const PARAGRAPH = /<(?:[A-Za-z_][\w.-]*:)?p[\s>/]/g

const countParagraphs = (xml: string, limit: number) => {
  PARAGRAPH.lastIndex = 0
  let n = 0
  while (PARAGRAPH.exec(xml) !== null) if (++n > limit) break
  return n
}

/**
 * Inflates every FlateDecode stream of a PDF under the budget, before pdf.js
 * sees it (pdf.js would decode a bomb whole). Image streams are skipped:
 * text extraction never decodes them. A stream that does not inflate cleanly
 * is left to pdf.js.
 */
export const checkPdf = (bytes: Uint8Array, limits: ExtractionLimits): void => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
  const budget = inflateBudget(limits, "PDF")
  let pos = 0
  for (;;) {
    const keyword = text.indexOf("stream", pos)
    if (keyword < 0) return
    pos = keyword + 6
    if (text.startsWith("end", keyword - 3)) continue
    let start = keyword + 6
    if (text[start] === "\r") start++
    if (text[start] === "\n") start++
    const end = text.indexOf("endstream", start)
    if (end < 0) return
    pos = end + 9
    const objectStart = text.lastIndexOf("obj", keyword)
    const dictionary = text.slice(Math.max(objectStart, keyword - 4096, 0), keyword)
    if (!dictionary.includes("/FlateDecode") || /\/Subtype\s*\/Image/.test(dictionary)) continue
    budget.inflate(bytes.subarray(start, end), false)
  }
}

/** Counts extracted text against the limits as it is produced. */
export const textBudget = (limits: ExtractionLimits, what: string) => {
  let bytes = 0
  return (text: string) => {
    bytes += Buffer.byteLength(text)
    if (bytes > limits.maxTextBytes) {
      throw new LimitExceeded(`the ${what}'s text is larger than ${MiB(limits.maxTextBytes)} (RAG_EXTRACT_MAX_TEXT_BYTES)`)
    }
  }
}
