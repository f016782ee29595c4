import { afterAll, beforeAll, test } from "bun:test"
import { existsSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import type { SettingsOverrides } from "../../src/app/Settings.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export const launchBrowser = (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (bash .ci/run does) or set CHROMIUM_PATH`)
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    // The image runs as root: Chromium's sandbox needs user namespaces it does not have.
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
    defaultViewport: { width: 1280, height: 800 }
  })
}

const SHOTS = path.join(tmpdir(), "console-test-screenshots")

/**
 * One real platform and one real Chromium per test file. `consoleTest` opens
 * a fresh page (its own storage: a new incognito context) and, when the test
 * fails, saves a screenshot and prints its path.
 */
export const useConsole = (overrides: SettingsOverrides = {}) => {
  const env = {} as { platform: TestPlatform; browser: Browser }
  beforeAll(async () => {
    const [platform, browser] = await Promise.all([startPlatform(overrides), launchBrowser()])
    env.platform = platform
    env.browser = browser
  }, 240_000)
  afterAll(async () => {
    await env.browser?.close()
    await env.platform?.stop()
  }, 60_000)

  const consoleTest = (name: string, body: (page: Page) => Promise<void>, timeoutMs = 120_000) =>
    test(name, async () => {
      const context = await env.browser.createBrowserContext()
      const page = await context.newPage()
      page.setDefaultTimeout(30_000)
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(String(e)))
      try {
        await body(page)
      } catch (e) {
        mkdirSync(SHOTS, { recursive: true })
        const file = path.join(SHOTS, `${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 80)}-${Date.now()}.png`)
        await page.screenshot({ path: file as `${string}.png`, fullPage: true }).catch(() => undefined)
        process.stderr.write(`console test failed: screenshot ${file}${errors.length ? `; page errors: ${errors.join(" | ")}` : ""}\n`)
        throw e
      } finally {
        await context.close()
      }
    }, timeoutMs)

  return { env, consoleTest }
}

/** Registers through the console's own form and waits for the signed-in layout. */
export const registerInConsole = async (page: Page, baseUrl: string, hash = "#/agents") => {
  const email = `console-${crypto.randomUUID().slice(0, 8)}@test.example`
  await page.goto(`${baseUrl}/${hash}`)
  await clickText(page, "button", "Create account")
  await page.type("input[name=email]", email)
  await page.type("input[name=password]", "console-pass-42!")
  await page.click("form button[type=submit]")
  await page.waitForSelector("nav[aria-label=Sections]")
  // The project picker is filled from /projects once signed in.
  await page.waitForFunction(() => (document.querySelector("#project-picker") as HTMLSelectElement | null)?.value)
  return email
}

/** Clicks the first `selector` element whose text is `text` (exactly, trimmed). */
export const clickText = async (page: Page, selector: string, text: string) => {
  const handle = await page.waitForFunction(
    (sel, t) => [...document.querySelectorAll(sel)].find((el) => el.textContent?.trim() === t) ?? null,
    {},
    selector,
    text
  )
  await (handle as unknown as { click: () => Promise<void> }).click()
}

/** Waits until `selector` has text matching `pattern` and returns that text. */
export const waitForText = async (page: Page, selector: string, pattern: RegExp, timeout = 30_000): Promise<string> => {
  const handle = await page.waitForFunction(
    (sel, source, flags) => {
      const re = new RegExp(source, flags)
      const hit = [...document.querySelectorAll(sel)].find((el) => re.test(el.textContent ?? ""))
      return hit?.textContent ?? null
    },
    { timeout },
    selector,
    pattern.source,
    pattern.flags
  )
  return (await handle.jsonValue()) as string
}
