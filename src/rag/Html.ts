import type { Section } from "./Section.ts"

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: " " }

export const decodeEntities = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m
    }
    return ENTITIES[e.toLowerCase()] ?? m
  })

const BLOCK = /^(p|div|br|li|ul|ol|tr|table|section|article|header|footer|blockquote|pre|h[1-6]|title|hr|dd|dt)$/

/**
 * HTML (uploaded pages, and mammoth's DOCX output) → sections split at
 * headings, paragraphs kept as blank-line separated text. Script, style and
 * other non-content elements are dropped. A tolerant tag scanner, not a DOM:
 * broken markup still yields its text.
 */
export const htmlToSections = (html: string): Array<Section> => {
  const sections: Array<Section> = []
  let heading: string | undefined
  let body = ""
  let headingText: string | null = null
  const flush = () => {
    const text = body.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim()
    if (text !== "") sections.push(heading === undefined ? { text } : { text, heading })
    body = ""
  }
  const cleaned = html.replace(/<!--[\s\S]*?-->/g, "").replace(
    /<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi,
    ""
  )
  const tag = /<\/?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g
  let last = 0
  for (let m = tag.exec(cleaned); m !== null; m = tag.exec(cleaned)) {
    const text = decodeEntities(cleaned.slice(last, m.index)).replace(/\s+/g, " ")
    if (headingText !== null) headingText += text
    else body += text
    last = m.index + m[0].length
    const name = m[1].toLowerCase()
    const closing = m[0][1] === "/"
    if (/^h[1-6]$/.test(name)) {
      if (!closing) {
        flush()
        headingText = ""
      } else if (headingText !== null) {
        heading = headingText.trim() || heading
        headingText = null
      }
    } else if (BLOCK.test(name) && headingText === null) {
      // List items and table rows are lines; other blocks are paragraphs.
      if (name === "li" || name === "tr") body += closing ? "" : "\n"
      else body += name === "br" ? "\n" : "\n\n"
    }
  }
  body += decodeEntities(cleaned.slice(last)).replace(/\s+/g, " ")
  flush()
  return sections
}

/** Markdown → sections at ATX headings (`#`…`######`); fenced code is kept as text. */
export const markdownToSections = (markdown: string): Array<Section> => {
  const sections: Array<Section> = []
  let heading: string | undefined
  let lines: Array<string> = []
  let fenced = false
  const flush = () => {
    const text = lines.join("\n").replace(/\n{3,}/g, "\n\n").trim()
    if (text !== "") sections.push(heading === undefined ? { text } : { text, heading })
    lines = []
  }
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const h = fenced ? null : /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (h) {
      flush()
      heading = h[2]
    } else {
      lines.push(line)
    }
  }
  flush()
  return sections
}
