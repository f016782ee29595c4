import { describe, expect, test } from "bun:test"
import { chunkSections, countTokens } from "../../src/rag/Chunking.ts"
import { htmlToSections, markdownToSections } from "../../src/rag/Html.ts"

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i % 7} in some detail.`

describe("chunking", () => {
  test("chunks stay within the token budget, overlap, and never span sections", () => {
    const long = Array.from({ length: 60 }, (_, i) => sentence(i)).join(" ")
    const chunks = chunkSections([{ text: long, page: 1 }, { text: "Short second page.", page: 2 }], {
      maxTokens: 50,
      overlapTokens: 12
    })
    expect(chunks.length).toBeGreaterThan(5)
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(50)
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i))
    // Consecutive chunks of page 1 share their boundary sentence.
    const [a, b] = chunks
    const lastOfA = a.content.split(/(?<=\.)\s+/).at(-1)!
    expect(b.content.startsWith(lastOfA)).toBe(true)
    expect(chunks.at(-1)).toMatchObject({ content: "Short second page.", metadata: { page: 2 } })
    expect(chunks.filter((c) => c.metadata.page === 1).every((c) => !c.content.includes("Short second"))).toBe(true)
  })

  test("paragraphs are packed whole while they fit; an over-long word run is split", () => {
    const chunks = chunkSections([{ text: "First paragraph here.\n\nSecond paragraph here.\n\n" + "word ".repeat(130) }], {
      maxTokens: 60,
      overlapTokens: 0
    })
    expect(chunks[0].content).toBe("First paragraph here.\n\nSecond paragraph here.")
    expect(chunks.slice(1).every((c) => c.tokenCount <= 60)).toBe(true)
    expect(chunks.slice(1).reduce((n, c) => n + c.tokenCount, 0)).toBe(130)
  })

  test("token counts follow the embedder's word/punctuation split", () => {
    expect(countTokens("Hello, world! It's 2024.")).toBe(9)
  })
})

describe("HTML and Markdown sections", () => {
  test("HTML: headings split sections, scripts/styles dropped, entities decoded", () => {
    const sections = htmlToSections(
      "<html><head><title>t</title><style>.x{}</style></head><body><p>Intro &amp; more</p>" +
        "<h1>Part <b>One</b></h1><p>Alpha</p><script>evil()</script><ul><li>a</li><li>b</li></ul>" +
        "<h2>Part Two</h2><p>Beta&#33;</p></body></html>"
    )
    expect(sections).toEqual([
      { text: "Intro & more" },
      { text: "Alpha\n\na\nb", heading: "Part One" },
      { text: "Beta!", heading: "Part Two" }
    ])
  })

  test("Markdown: ATX headings split sections; # inside code fences is text", () => {
    const sections = markdownToSections("Preface\n\n# Install\n\nRun it.\n\n```sh\n# a comment\n```\n\n## Use\n\nCall it.")
    expect(sections.map((s) => s.heading)).toEqual([undefined, "Install", "Use"])
    expect(sections[1].text).toContain("# a comment")
  })

  test("HTML: navigation, site header/footer, aside, forms and cookie banners never reach a chunk", () => {
    const page = "<html><body class=\"page has-sidebar\"><header><a href=\"/\">ACME</a><h1>Thermocouple care</h1>" +
      "<p>Signed in as guest</p></header><nav>Home | About | Contact</nav>" +
      "<div class=\"cookie-banner\"><div>We use cookies <button>Accept</button></div></div>" +
      "<main><p>Type K sensors drift with heat.</p><aside>Related: pumps</aside>" +
      "<h2>Recalibration</h2><p>Recalibrate every six months.</p>" +
      "<form><label>Subscribe</label><input name=\"email\"/></form></main>" +
      "<div role=\"contentinfo\">Copyright 2026</div><footer>Privacy | Terms</footer></body></html>"
    const sections = htmlToSections(page)
    expect(sections).toEqual([
      { text: "Type K sensors drift with heat.", heading: "Thermocouple care" },
      { text: "Recalibrate every six months.", heading: "Recalibration" }
    ])
    const chunks = chunkSections(sections, { maxTokens: 50, overlapTokens: 5 })
    for (const boilerplate of ["Home | About | Contact", "cookies", "Related", "Subscribe", "Copyright", "Privacy", "ACME", "guest"]) {
      expect(chunks.some((c) => c.content.includes(boilerplate))).toBe(false)
    }
  })

  test("Markdown: front matter, link bars and embedded page chrome are dropped; fenced HTML is kept", () => {
    const sections = markdownToSections(
      "---\ntitle: Guide\n---\n[Home](/) | [About](/about) | [Contact](/contact)\n\n# Guide\n\nSee [the manual](/m) first.\n\n" +
        "<nav>Docs · Blog</nav>\n<script>track()</script>\n\n```html\n<nav>example</nav>\n```\n"
    )
    expect(sections).toHaveLength(1)
    expect(sections[0].heading).toBe("Guide")
    expect(sections[0].text).toContain("See [the manual](/m) first.")
    expect(sections[0].text).toContain("<nav>example</nav>")
    for (const gone of ["title: Guide", "Contact", "Docs · Blog", "track()"]) expect(sections[0].text).not.toContain(gone)
  })
})
