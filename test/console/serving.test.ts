import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Glob } from "bun"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import { importsOf } from "../architecture/importGraph.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

let platform: TestPlatform
beforeAll(async () => {
  platform = await startPlatform()
}, 240_000)
afterAll(() => platform?.stop(), 60_000)

/** Budget of the console's script over the wire (gzip); measured 110 KB with the HttpApi client. */
const SCRIPT_GZIP_BUDGET = 160 * 1024

describe("the console is served by the platform", () => {
  test("GET / answers the HTML shell that loads the bundled script and stylesheet", async () => {
    const res = await fetch(`${platform.baseUrl}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/html")
    const html = await res.text()
    expect(html).toContain(`<script type="module" src="/console/app.js">`)
    expect(html).toContain(`href="/console/app.css"`)
    // Every asset is local: no CDN, so the console works offline.
    expect(html).not.toMatch(/https?:\/\//)
  }, 60_000)

  test("the bundle is JavaScript within its size budget, the stylesheet CSS, both revalidated by ETag", async () => {
    const script = await fetch(`${platform.baseUrl}/console/app.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toContain("text/javascript")
    const bytes = new Uint8Array(await script.arrayBuffer())
    expect(bytes.length).toBeGreaterThan(10_000)
    expect(gzipSync(bytes).length).toBeLessThan(SCRIPT_GZIP_BUDGET)
    // The browser bundle holds no server code (argon2, SQL, the cluster).
    const text = new TextDecoder().decode(bytes)
    expect(text).not.toContain("@effect/sql")
    expect(text).not.toContain("argon2")

    const style = await fetch(`${platform.baseUrl}/console/app.css`)
    expect(style.status).toBe(200)
    expect(style.headers.get("content-type")).toContain("text/css")
    expect(await style.text()).toContain(".layout")

    const etag = script.headers.get("etag")!
    expect(etag).toBeTruthy()
    const again = await fetch(`${platform.baseUrl}/console/app.js`, { headers: { "if-none-match": etag } })
    expect(again.status).toBe(304)
  }, 60_000)

  test("the bundle goes gzip-compressed to clients that accept it, plain to others", async () => {
    const zipped = await fetch(`${platform.baseUrl}/console/app.js`, { headers: { "accept-encoding": "gzip" } })
    expect(zipped.headers.get("content-encoding")).toBe("gzip")
    const plain = await fetch(`${platform.baseUrl}/console/app.js`, { headers: { "accept-encoding": "identity" } })
    expect(plain.headers.get("content-encoding")).toBeNull()
    // Both decode to the same script.
    expect(await zipped.text()).toBe(await plain.text())
  }, 60_000)

  test("the route table knows the console's paths: other methods 405, unknown paths still 404 JSON, the API unchanged", async () => {
    const post = await fetch(`${platform.baseUrl}/`, { method: "POST" })
    expect(post.status).toBe(405)
    expect(post.headers.get("allow")).toBe("GET")
    const missing = await fetch(`${platform.baseUrl}/console/nope.js`)
    expect(missing.status).toBe(404)
    expect((await missing.json())._tag).toBe("NotFound")
    const health = await fetch(`${platform.baseUrl}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get("content-type")).toContain("application/json")
  }, 60_000)
})

describe("the console's code", () => {
  test("imports only the contracts, domain schemas and kernel of the server (never an implementation)", async () => {
    const root = path.resolve(import.meta.dir, "../..")
    const allowed = ["src/console/", "src/domain/", "src/kernel/"]
    const offending: Array<string> = []
    let files = 0
    for (const file of new Glob("src/console/**/*.{ts,tsx}").scanSync(root)) {
      files++
      for (const spec of importsOf(await Bun.file(path.join(root, file)).text())) {
        const target = path.normalize(path.join(path.dirname(file), spec))
        if (!allowed.some((prefix) => target.startsWith(prefix))) offending.push(`${file} -> ${target}`)
      }
    }
    expect(files).toBeGreaterThan(5)
    expect(offending).toEqual([])
  })
})
