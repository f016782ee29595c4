import { describe, expect } from "bun:test"
import type { Page } from "puppeteer-core"
import { registerInConsole, useConsole } from "./browser.ts"

const { env, consoleTest } = useConsole()

const PAGES = ["agents", "rag", "workflows/new", "tools", "sql", "traces", "observability", "projects"]
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 }
]

/** Controls without a name a screen reader could read (no label[for], no aria-label). */
const unlabelled = (page: Page) =>
  page.$$eval("input, select, textarea", (els) =>
    els
      .filter((el) => {
        const id = el.getAttribute("id")
        const labelled = id !== null && document.querySelector(`label[for="${id}"]`) !== null
        return !labelled && !el.getAttribute("aria-label") && !el.closest("label")
      })
      .map((el) => el.outerHTML.slice(0, 120)))

const overflow = (page: Page) =>
  page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))

describe("console: accessible basics", () => {
  consoleTest("no horizontal overflow at 1280×800 and 390×844 on the sign-in page and every section; every control labelled", async (page) => {
    for (const viewport of VIEWPORTS) {
      await page.setViewport(viewport)
      await page.goto(`${env.platform.baseUrl}/`)
      await page.waitForSelector("form[aria-label='Sign in']")
      const o = await overflow(page)
      expect({ page: "sign in", ...viewport, fits: o.scrollWidth <= o.innerWidth }).toEqual({ page: "sign in", ...viewport, fits: true })
      expect(await unlabelled(page)).toEqual([])
    }
    await registerInConsole(page, env.platform.baseUrl)
    for (const viewport of VIEWPORTS) {
      await page.setViewport(viewport)
      for (const section of PAGES) {
        await page.goto(`${env.platform.baseUrl}/#/${section}`)
        await page.waitForSelector("main h1")
        // Let the section's first data arrive: it can widen tables.
        await page.waitForNetworkIdle({ idleTime: 200 })
        const o = await overflow(page)
        expect({ section, ...viewport, fits: o.scrollWidth <= o.innerWidth }).toEqual({ section, ...viewport, fits: true })
        expect({ section, unlabelled: await unlabelled(page) }).toEqual({ section, unlabelled: [] })
      }
    }
  }, 180_000)

  consoleTest("the keyboard reaches the skip link first, moves through the sections and submits forms with Enter", async (page) => {
    await page.goto(`${env.platform.baseUrl}/`)
    await page.waitForSelector("input[name=email]")
    // Sign in entirely from the keyboard: tab to the tab button, then through the form.
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Create account")
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await page.keyboard.type(`keys-${crypto.randomUUID().slice(0, 6)}@test.example`)
    await page.keyboard.press("Tab")
    await page.keyboard.type("console-pass-42!")
    await page.keyboard.press("Enter")
    await page.waitForSelector("nav[aria-label=Sections]")

    await page.keyboard.press("Tab")
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content")
    await page.keyboard.press("Enter")
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main")

    // From the top again: past the header's controls into the navigation, then open Workflows.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    let focused = ""
    for (let i = 0; i < 12 && focused !== "Workflows"; i++) {
      await page.keyboard.press("Tab")
      focused = await page.evaluate(() => document.activeElement?.textContent ?? "")
    }
    expect(focused).toBe("Workflows")
    await page.keyboard.press("Enter")
    await page.waitForFunction(() => document.querySelector("main h1")?.textContent === "Workflows")
    expect(await page.$eval("nav a[aria-current=page]", (el) => el.textContent)).toBe("Workflows")
    // A visible focus indicator is part of the style sheet.
    const outline = await page.$eval("nav a[aria-current=page]", (el) => {
      ;(el as HTMLElement).focus()
      return getComputedStyle(el).outlineStyle
    })
    expect(outline).not.toBe("none")
  })
})
