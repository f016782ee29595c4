import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { GUIDE_PATH } from "../domain/api/OpenApiDocs.ts"

/**
 * The written guide to what OpenAPI does not describe (A2A, /mcp, the WebSockets, /metrics,
 * the offline model): docs/api-guide.md, served as HTML at /docs/guide and as Markdown at
 * /docs/guide.md, so API users find it beside /docs (whose description links here).
 */
export const DOCS_GUIDE_ROUTES = [
  { method: "GET", path: GUIDE_PATH },
  { method: "GET", path: `${GUIDE_PATH}.md` }
]

const SOURCE = fileURLToPath(new URL("../../docs/api-guide.md", import.meta.url))

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** Code spans, bold and links of one line (escaped first: the guide is trusted, but stays text). */
const inline = (s: string) =>
  escape(s)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\*([^*\s][^*]*)\*/g, "<em>$1</em>")
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, "<a href=\"$2\">$1</a>")

/** The small Markdown subset the guide uses: headings, paragraphs, lists, tables, fenced code. */
export const markdownToHtml = (markdown: string): string => {
  const out: Array<string> = []
  const lines = markdown.split("\n")
  for (let i = 0; i < lines.length;) {
    const line = lines[i]
    if (line.startsWith("```")) {
      const code: Array<string> = []
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i])
      out.push(`<pre><code>${escape(code.join("\n"))}</code></pre>`)
      i++
    } else if (/^#{1,4} /.test(line)) {
      const level = line.indexOf(" ")
      const text = line.slice(level + 1)
      const id = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")
      out.push(`<h${level} id="${id}">${inline(text)}</h${level}>`)
      i++
    } else if (line.startsWith("|")) {
      const rows: Array<Array<string>> = []
      // A cell may hold an escaped pipe (`\|`).
      for (; i < lines.length && lines[i].startsWith("|"); i++) {
        rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|")))
      }
      const [head, , ...body] = rows
      out.push(
        `<table><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join("")}</tr></thead><tbody>` +
          body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("") + "</tbody></table>"
      )
    } else if (line.startsWith("- ")) {
      const items: Array<string> = []
      for (; i < lines.length && (lines[i].startsWith("- ") || lines[i].startsWith("  ")); i++) {
        if (lines[i].startsWith("- ")) items.push(lines[i].slice(2))
        else items[items.length - 1] += ` ${lines[i].trim()}`
      }
      out.push(`<ul>${items.map((item) => `<li>${inline(item)}</li>`).join("")}</ul>`)
    } else if (line.trim() === "") {
      i++
    } else {
      const paragraph: Array<string> = []
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#|\||- |```)/.test(lines[i]); i++) paragraph.push(lines[i])
      out.push(`<p>${inline(paragraph.join(" "))}</p>`)
    }
  }
  return out.join("\n")
}

const page = (body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agent Platform API guide</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}pre{background:#f3f3f3;padding:.8em;overflow:auto}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}</style>
</head><body><p><a href="/docs">← REST reference (/docs)</a> · <a href="${GUIDE_PATH}.md">Markdown</a></p>
${body}
</body></html>
`

export const DocsGuideRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    // Read once at start: a missing file fails start-up rather than the first reader.
    const markdown = readFileSync(SOURCE, "utf8")
    const html = page(markdownToHtml(markdown))
    yield* router.add("GET", GUIDE_PATH, Effect.succeed(HttpServerResponse.text(html, { contentType: "text/html; charset=utf-8" })))
    yield* router.add(
      "GET",
      `${GUIDE_PATH}.md`,
      Effect.succeed(HttpServerResponse.text(markdown, { contentType: "text/markdown; charset=utf-8" }))
    )
  })
)
