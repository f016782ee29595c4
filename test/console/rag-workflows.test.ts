import { describe, expect } from "bun:test"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { makeTempDir } from "../support/tempDir.ts"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

const { env, consoleTest } = useConsole()

const setValue = (selector: string, value: string) => (el: Element, v: string) => {
  // Preact listens to `input`: set the value as a user edit would and announce it.
  ;(el as HTMLTextAreaElement).value = v
  el.dispatchEvent(new Event("input", { bubbles: true }))
}

describe("console: RAG and workflows", () => {
  consoleTest("upload a text document, watch it become ready, query it and see hits with scores", async (page) => {
    const tmp = makeTempDir("console-rag")
    const file = path.join(tmp.dir, "thermocouples.txt")
    writeFileSync(file, [
      "Thermocouples measure temperature using two dissimilar metals joined at one end.",
      "A type K thermocouple is made of chromel and alumel and covers -200 to 1250 degrees Celsius.",
      "Calibration of a thermocouple compares its voltage against a reference junction."
    ].join("\n\n"))
    try {
      await registerInConsole(page, env.platform.baseUrl, "#/rag")
      const input = await page.waitForSelector("input[type=file]")
      await input!.uploadFile(file)
      await page.click("form[aria-label='Upload a document'] button[type=submit]")
      expect(await waitForText(page, "[role=status]", /uploaded/)).toContain("thermocouples.txt")
      // The documents table polls until ingestion is done.
      await page.waitForSelector("tr[data-document='thermocouples.txt'] .status-ready", { timeout: 60_000 })

      await page.type("form[aria-label='Query the knowledge base'] input[name=query]", "what is a type K thermocouple made of?")
      await page.click("form[aria-label='Query the knowledge base'] button[type=submit]")
      await page.waitForSelector(".hit")
      const first = await page.$eval(".hit", (el) => el.textContent ?? "")
      expect(first).toContain("thermocouples.txt")
      expect(first).toMatch(/score \d\.\d{4}/)
      expect(first).toContain("chromel")
    } finally {
      tmp.remove()
    }
  })

  consoleTest("a broken definition shows the server's problems inline; a valid one runs, waits for approval and completes", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/workflows/new")
    const definition = "form[aria-label='Workflow definition'] textarea[name=definition]"
    await page.waitForSelector(definition)
    await page.type("form[aria-label='Workflow definition'] input[name=name]", "greeter")
    await page.$eval(definition, setValue(definition, ""), JSON.stringify({ steps: [{ id: "a", type: "nope" }, { id: "b", type: "set", values: { x: "{{steps.zzz.output}}" } }] }))
    await clickText(page, "form[aria-label='Workflow definition'] button", "Create workflow")
    const problems = await waitForText(page, "[role=alert]", /BadRequest/)
    expect(problems).toContain("unknown step type \"nope\"")
    expect(problems).toContain("references unknown step 'zzz'")

    // Invalid JSON never leaves the browser.
    await page.$eval(definition, setValue(definition, ""), "{ steps: ")
    await clickText(page, "form[aria-label='Workflow definition'] button", "Create workflow")
    expect(await waitForText(page, "[role=alert]", /InvalidJson/)).toContain("not valid JSON")

    // The editor's example: a set step, then an approval.
    await page.$eval(definition, setValue(definition, ""), JSON.stringify({
      steps: [
        { id: "greet", type: "set", values: { text: "hello {{input.name}}" } },
        { id: "review", type: "approval", message: "send it?" }
      ],
      output: "{{vars.text}}"
    }))
    await clickText(page, "form[aria-label='Workflow definition'] button", "Create workflow")
    await waitForText(page, ".list a", /^greeter$/)
    expect(page.url()).toMatch(/#\/workflows\/[^/]+$/)

    await page.waitForSelector("form[aria-label='Run the workflow']")
    await page.click("form[aria-label='Run the workflow'] button[type=submit]")
    await page.waitForSelector("li[data-step=review][data-state=waiting]", { timeout: 60_000 })
    expect(await page.$eval("li[data-step=greet]", (el) => el.getAttribute("data-state"))).toBe("completed")
    await clickText(page, ".approve button", "Approve")
    await page.waitForSelector("li[data-step=review][data-state=completed]", { timeout: 60_000 })
    expect(await waitForText(page, ".run p", /completed/)).toContain("completed")
    expect(await page.$eval("pre[aria-label=Output]", (el) => el.textContent)).toContain("hello world")
  })

  consoleTest("traces of the user's work are listed and one opens as a waterfall", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/traces")
    // Traced work in this project: reading its members (a /projects/{id}/... request that runs SQL is always stored).
    await page.goto(`${env.platform.baseUrl}/#/projects`)
    await waitForText(page, "table[aria-label=Members] tbody tr", /admin/)

    await page.goto(`${env.platform.baseUrl}/#/traces`)
    const row = "table[aria-label='Trace list'] tbody tr a"
    await page.waitForFunction(async (sel) => {
      if (document.querySelector(sel)) return true
      ;[...document.querySelectorAll("button")].find((b) => b.textContent === "Refresh")?.click()
      await new Promise((r) => setTimeout(r, 500))
      return false
    }, { timeout: 30_000 }, row)
    await page.click(row)
    await page.waitForSelector(".wf-row .wf-bar")
    const bars = await page.$$eval(".wf-row", (rows) => rows.length)
    expect(bars).toBeGreaterThan(0)
    expect(await page.$eval(".waterfall p", (el) => el.textContent)).toMatch(/\d+ spans/)
  })
})
