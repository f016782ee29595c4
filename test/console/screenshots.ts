/**
 * Takes the README's console screenshots (docs/console-*.png) against a real
 * platform: `bun run test/console/screenshots.ts`. Not a test: run it by hand
 * when the console's look changes.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { makeTempDir } from "../support/tempDir.ts"
import { startPlatform } from "../support/platform.ts"
import { clickText, launchBrowser, registerInConsole } from "./browser.ts"

const docs = path.resolve(import.meta.dir, "../../docs")
const platform = await startPlatform()
const browser = await launchBrowser()
const tmp = makeTempDir("console-shots")
try {
  const page = await browser.newPage()
  await page.setViewport({ width: 1200, height: 760 })
  const base = platform.baseUrl
  await registerInConsole(page, base, "#/agents")

  // Agents: a chat with its streamed answer and the task history.
  await page.waitForSelector("form[aria-label='Create an agent'] select option[value=assistant]")
  await page.type("form[aria-label='Create an agent'] input[name=name]", "Support assistant")
  await page.click("form[aria-label='Create an agent'] button[type=submit]")
  // The chat form of the new agent, connected (its button is enabled once the socket is ready).
  await page.waitForSelector(".chat-form button[type=submit]:not([disabled])")
  await page.type("textarea[name=message]", "How do I reset my password?")
  await page.keyboard.press("Enter")
  await page.waitForSelector(".turn-agent .status-completed", { timeout: 60_000 })
  await page.waitForSelector("table[aria-label='Task history'] tbody tr")
  await page.screenshot({ path: path.join(docs, "console-agents.png") })

  // RAG: a document, its status and the hits of a question.
  const file = path.join(tmp.dir, "onboarding.md")
  writeFileSync(file, "# Onboarding\n\nNew engineers get a laptop on day one and a mentor for the first month.\n\n## Accounts\n\nPasswords are reset from the sign-in page with the link sent by email.\n")
  await page.goto(`${base}/#/rag`)
  const input = await page.waitForSelector("input[type=file]")
  await input!.uploadFile(file)
  await page.click("form[aria-label='Upload a document'] button[type=submit]")
  await page.waitForSelector("tr[data-document='onboarding.md'] .status-ready", { timeout: 60_000 })
  await page.type("input[name=query]", "how are passwords reset?")
  await page.click("form[aria-label='Query the knowledge base'] button[type=submit]")
  await page.waitForSelector(".hit")
  await page.screenshot({ path: path.join(docs, "console-rag.png") })

  // Workflows: a run waiting for its approval.
  await page.goto(`${base}/#/workflows/new`)
  await page.waitForSelector("textarea[name=definition]")
  await page.type("form[aria-label='Workflow definition'] input[name=name]", "greeting with review")
  await clickText(page, "form[aria-label='Workflow definition'] button", "Create workflow")
  await page.waitForSelector("form[aria-label='Run the workflow']")
  await page.click("form[aria-label='Run the workflow'] button[type=submit]")
  await page.waitForSelector("li[data-step=review][data-state=waiting]", { timeout: 60_000 })
  await page.setViewport({ width: 1200, height: 1040 })
  await page.evaluate(() => scrollTo(0, 0))
  await page.screenshot({ path: path.join(docs, "console-workflows.png") })
} finally {
  await browser.close()
  await platform.stop()
  tmp.remove()
}
