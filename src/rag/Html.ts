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

const BLOCK = /^(p|div|br|li|ul|ol|tr|table|section|article|main|header|footer|blockquote|pre|h[1-6]|title|hr|dd|dt)$/

/** Elements whose whole content is dropped: code, styling, and page chrome that is not the document's text. */
const DROPPED = /<(script|style|noscript|template|svg|head|iframe|canvas|object)\b[\s\S]*?<\/\1\s*>/gi

/**
 * Page chrome: navigation, site header/footer, side bars, forms, dialogs. Its
 * text (menus, "Home | About | Contact", cookie banners) would otherwise be a
 * document's first chunk and match every query about the site.
 */
const BOILERPLATE = /^(nav|footer|aside|form|menu|dialog|button|select)$/
const BOILERPLATE_ROLE = /\brole\s*=\s*["']?(navigation|banner|contentinfo|complementary|search|menu|menubar|dialog)\b/i
const BOILERPLATE_CLASS =
  /\b(class|id)\s*=\s*["'][^"']*\b(nav|navbar|navigation|menu|breadcrumbs?|cookie-banner|cookie-consent|skip-link|site-header|site-footer|sidebar)\b/i
/** Never skipped by class or role: a theme's `<body class="has-sidebar">` is still the page. */
const CONTAINER = /^(html|body|main|article)$/
const VOID = /^(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)$/

/**
 * HTML (uploaded pages, and mammoth's DOCX output) → sections split at
 * headings, paragraphs kept as blank-line separated text. Scripts, styles and
 * page chrome (nav, site header and footer, aside, forms) are dropped; inside
 * a `<header>` only its headings are kept, since an article's title often
 * lives there. A tolerant tag scanner, not a DOM: broken markup still yields
 * its text.
 */
export const htmlToSections = (html: string): Array<Section> => {
  const sections: Array<Section> = []
  let heading: string | undefined
  let body = ""
  let headingText: string | null = null
  // The boilerplate element being skipped and how deeply its own name is nested in it.
  let skip: { name: string; depth: number } | null = null
  let inHeader = 0
  const flush = () => {
    const text = body.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim()
    if (text !== "") sections.push(heading === undefined ? { text } : { text, heading })
    body = ""
  }
  const cleaned = html.replace(/<!--[\s\S]*?-->/g, "").replace(DROPPED, "")
  const tag = /<\/?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g
  let last = 0
  for (let m = tag.exec(cleaned); m !== null; m = tag.exec(cleaned)) {
    const name = m[1].toLowerCase()
    const closing = m[0][1] === "/"
    const selfClosing = VOID.test(name) || m[0].endsWith("/>")
    if (skip !== null) {
      if (name === skip.name && !selfClosing) skip.depth += closing ? -1 : 1
      if (skip.depth === 0) skip = null
      last = m.index + m[0].length
      continue
    }
    const text = decodeEntities(cleaned.slice(last, m.index)).replace(/\s+/g, " ")
    if (headingText !== null) headingText += text
    else if (inHeader === 0) body += text
    last = m.index + m[0].length
    const chrome = BOILERPLATE.test(name) ||
      (!CONTAINER.test(name) && (BOILERPLATE_ROLE.test(m[0]) || BOILERPLATE_CLASS.test(m[0])))
    if (!closing && !selfClosing && chrome) {
      skip = { name, depth: 1 }
      continue
    }
    if (name === "header" && !selfClosing) inHeader = Math.max(0, inHeader + (closing ? -1 : 1))
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
  if (skip === null && inHeader === 0) body += decodeEntities(cleaned.slice(last)).replace(/\s+/g, " ")
  flush()
  return sections
}

/** A line that is only links separated by |, ·, •, / or spaces: a Markdown navigation bar. */
const LINK_BAR = /^\s*(?:[*-]\s+)?\[[^\]]*\]\([^)]*\)(?:\s*[|·•/>»]?\s*\[[^\]]*\]\([^)]*\))+\s*$/

/**
 * Markdown → sections at ATX headings (`#`…`######`); fenced code is kept as
 * text. Front matter, HTML comments, embedded page chrome and script/style
 * blocks, and lines that are only a row of links (a navigation bar) are dropped.
 */
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
  // Raw HTML is cleaned outside code fences only: a fenced HTML example is the document's text.
  const cleaned = markdown
    .replace(/^\uFEFF?---\r?\n[\s\S]*?\r?\n---\r?\n/, "")
    .split(/(^(?:```|~~~)[^\n]*\n[\s\S]*?^(?:```|~~~)[ \t]*$)/m)
    .map((part, i) =>
      i % 2 === 1 ? part : part
        .replace(/<!--[\s\S]*?-->/g, "")
        .replace(DROPPED, "")
        .replace(/<(nav|footer|aside|form|header)\b[\s\S]*?<\/\1\s*>/gi, "")
    )
    .join("")
  for (const line of cleaned.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    if (!fenced && LINK_BAR.test(line)) continue
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
