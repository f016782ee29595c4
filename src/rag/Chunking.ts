import type { Section } from "./Section.ts"

export interface Chunk {
  readonly index: number
  readonly content: string
  readonly tokenCount: number
  readonly metadata: { readonly page?: number; readonly heading?: string }
}

export interface ChunkingOptions {
  /** Upper bound of a chunk, in tokens (words and punctuation marks, as the embedder's tokenizer splits). */
  readonly maxTokens: number
  /** Tokens of the previous chunk's tail repeated at the start of the next one. */
  readonly overlapTokens: number
}

export const defaultChunking: ChunkingOptions = { maxTokens: 200, overlapTokens: 40 }

const TOKEN = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu
export const countTokens = (text: string) => text.match(TOKEN)?.length ?? 0

interface Unit {
  readonly text: string
  readonly tokens: number
  /** Joined to the previous unit with a blank line (a paragraph) or a space (a sentence piece). */
  readonly paragraph: boolean
}

const sentences = (text: string) => text.split(/(?<=[.!?;:])\s+/).filter((s) => s.trim() !== "")

/** Splits an over-long sentence into word windows of at most `max` tokens. */
const windows = (sentence: string, max: number): Array<string> => {
  const words = sentence.split(/\s+/).filter((w) => w !== "")
  const out: Array<string> = []
  let current: Array<string> = []
  let tokens = 0
  for (const word of words) {
    const t = countTokens(word)
    if (tokens + t > max && current.length > 0) {
      out.push(current.join(" "))
      current = []
      tokens = 0
    }
    current.push(word)
    tokens += t
  }
  if (current.length > 0) out.push(current.join(" "))
  return out
}

const unitsOf = (text: string, max: number): Array<Unit> =>
  text.split(/\n\s*\n/).map((p) => p.replace(/\s*\n\s*/g, " ").trim()).filter((p) => p !== "").flatMap((p) => {
    const tokens = countTokens(p)
    if (tokens <= max) return [{ text: p, tokens, paragraph: true }]
    return sentences(p).flatMap((s) => windows(s, max)).map((s, i) => ({
      text: s,
      tokens: countTokens(s),
      paragraph: i === 0
    }))
  })

const join = (units: ReadonlyArray<Unit>) =>
  units.map((u, i) => (i === 0 ? u.text : (u.paragraph ? "\n\n" : " ") + u.text)).join("")

/** Trailing whole sentences of `units` worth at most `budget` tokens. */
const overlapOf = (units: ReadonlyArray<Unit>, budget: number): Array<Unit> => {
  if (budget <= 0) return []
  const tail: Array<Unit> = []
  let used = 0
  for (let i = units.length - 1; i >= 0; i--) {
    const parts = sentences(units[i].text)
    for (let j = parts.length - 1; j >= 0; j--) {
      const tokens = countTokens(parts[j])
      if (used + tokens > budget) return tail
      tail.unshift({ text: parts[j], tokens, paragraph: j === 0 && tail.length === 0 ? true : j === 0 })
      used += tokens
    }
  }
  return tail
}

/**
 * Sections → chunks that follow the document's shape: paragraphs are packed
 * whole while they fit, over-long paragraphs split at sentences (then at word
 * windows), and a chunk never spans two sections (so its page / heading
 * metadata is exact). Consecutive chunks of a section share `overlapTokens`
 * of trailing sentences, so an answer cut at a boundary is still found whole.
 */
export const chunkSections = (
  sections: ReadonlyArray<Section>,
  options: ChunkingOptions = defaultChunking
): Array<Chunk> => {
  const chunks: Array<Chunk> = []
  for (const section of sections) {
    const metadata = {
      ...(section.page !== undefined ? { page: section.page } : {}),
      ...(section.heading !== undefined ? { heading: section.heading } : {})
    }
    let current: Array<Unit> = []
    let tokens = 0
    let fresh = 0 // units in `current` that are not overlap
    const emit = () => {
      if (fresh === 0) return
      chunks.push({ index: chunks.length, content: join(current), tokenCount: tokens, metadata })
      current = overlapOf(current, options.overlapTokens)
      tokens = current.reduce((n, u) => n + u.tokens, 0)
      fresh = 0
    }
    for (const unit of unitsOf(section.text, options.maxTokens)) {
      if (tokens + unit.tokens > options.maxTokens) {
        emit()
        // The overlap itself must leave room for the new unit.
        while (current.length > 0 && tokens + unit.tokens > options.maxTokens) {
          tokens -= current.shift()!.tokens
        }
      }
      current.push(unit)
      tokens += unit.tokens
      fresh++
    }
    emit()
  }
  return chunks
}
