import { describe, expect } from "bun:test"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

const { env, consoleTest } = useConsole()

describe("console: sign in and agents", () => {
  consoleTest("a weak password is refused with the field's message; sign out, then sign in again", async (page) => {
    await page.goto(`${env.platform.baseUrl}/`)
    await clickText(page, "button", "Create account")
    await page.type("input[name=email]", `weak-${crypto.randomUUID().slice(0, 6)}@test.example`)
    await page.type("input[name=password]", "short")
    await page.click("form button[type=submit]")
    // The contract's schema checks it in the browser already: the message names the field.
    const problem = await waitForText(page, "[role=alert]", /Invalid/)
    expect(problem).toContain("password")
    expect(problem).toContain("at least 10 characters")

    await page.reload()
    const email = await registerInConsole(page, env.platform.baseUrl)
    expect(await page.$eval(".who", (el) => el.textContent)).toBe(email)
    await clickText(page, "button", "Sign out")
    await page.waitForSelector("form[aria-label='Sign in']")
    await page.type("input[name=email]", email)
    await page.type("input[name=password]", "wrong-pass-42!")
    await page.click("form button[type=submit]")
    expect(await waitForText(page, "[role=alert]", /Unauthorized/)).toContain("Unauthorized")
    await page.$eval("input[name=password]", (el) => ((el as HTMLInputElement).value = ""))
    await page.type("input[name=password]", "console-pass-42!")
    await page.click("form button[type=submit]")
    await page.waitForSelector("nav[aria-label=Sections]")
  })

  consoleTest("register, create an agent from a template, chat and see the reply stream in, then the task in its history", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/agents")
    await page.waitForSelector("form[aria-label='Create an agent'] select option[value=assistant]")
    await page.select("form[aria-label='Create an agent'] select", "assistant")
    await page.type("form[aria-label='Create an agent'] input[name=name]", "Console helper")
    await page.click("form[aria-label='Create an agent'] button[type=submit]")
    await waitForText(page, ".list a", /^Console helper$/)
    expect(page.url()).toMatch(/#\/agents\/[^/]+$/)

    // The chat form of the new agent, connected (its button is enabled once the socket is ready).
    await page.waitForSelector(".chat-form button[type=submit]:not([disabled])")
    // Record every text the agent's turn shows: a streamed answer grows across several renders.
    await page.evaluate(() => {
      const seen: Array<string> = []
      ;(window as unknown as { seen: Array<string> }).seen = seen
      new MutationObserver(() => {
        const text = document.querySelector(".turn-agent .text")?.textContent ?? ""
        if (seen[seen.length - 1] !== text) seen.push(text)
      }).observe(document.querySelector(".chat-log")!, { subtree: true, childList: true, characterData: true })
    })
    await page.type("textarea[name=message]", "What is the capital of France?")
    await page.keyboard.press("Enter")
    await page.waitForSelector(".turn-agent .status-completed", { timeout: 60_000 })
    const answer = await page.$eval(".turn-agent .text", (el) => el.textContent ?? "")
    // No provider key in tests: the offline model answers, and says so.
    expect(answer.length).toBeGreaterThan(10)
    const seen = await page.evaluate(() => (window as unknown as { seen: Array<string> }).seen)
    const partial = seen.filter((t) => t !== "…" && t !== "" && t !== answer)
    expect(partial.length).toBeGreaterThan(0)
    expect(partial.every((t) => answer.startsWith(t))).toBe(true)

    expect(await waitForText(page, "table[aria-label='Task history'] tbody tr", /completed/)).toMatch(/local/)
    // The task opens with its A2A conversation.
    await page.click("table[aria-label='Task history'] tbody tr button")
    expect(await waitForText(page, "[aria-label=Task] li[data-role=user]", /capital of France/)).toContain("user")
    expect(await page.$eval("[aria-label=Task] li[data-role=agent]", (el) => el.textContent)).toContain(answer.slice(0, 20))

    // Editing the agent is saved and shown in the list.
    const nameInput = "form[aria-label='Edit agent'] input"
    await page.waitForFunction((sel) => (document.querySelector(sel) as HTMLInputElement | null)?.value === "Console helper", {}, nameInput)
    await page.$eval(nameInput, (el) => ((el as HTMLInputElement).value = ""))
    await page.type(nameInput, "Renamed helper")
    await clickText(page, "form[aria-label='Edit agent'] button", "Save")
    await waitForText(page, ".list a", /^Renamed helper$/)

    // Tool calls show in the turn that made them: the offline model calls a tool the prompt names.
    await page.goto(`${env.platform.baseUrl}/#/agents`)
    await page.waitForSelector("form[aria-label='Create an agent'] select option[value=researcher]")
    await page.select("form[aria-label='Create an agent'] select", "researcher")
    await page.click("form[aria-label='Create an agent'] button[type=submit]")
    await waitForText(page, ".list a", /^Researcher$/)
    await page.waitForSelector(".chat-form button[type=submit]:not([disabled])")
    await page.type("textarea[name=message]", 'use rag_search {"query": "onboarding"}')
    await page.keyboard.press("Enter")
    await page.waitForSelector(".turn-agent .status-completed", { timeout: 60_000 })
    await page.waitForSelector(".turn-agent li[data-tool=rag_search][data-phase=finished] .status-completed")
    expect(await page.$eval(".turn-agent .text", (el) => el.textContent)).toContain("Tool results")
  })
})
