import { describe, expect } from "bun:test"
import { signUp } from "../support/auth.ts"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

// Access tokens that expire within the test: the console must refresh them on its own.
// No clock tolerance (JWT_CLOCK_TOLERANCE_SECONDS, 5 s by default): a token is refused once expired.
const { env, consoleTest } = useConsole({ auth: { accessTokenTtlSeconds: 1, jwtClockToleranceSeconds: 0 } })
// Past the 1 s lifetime (exp is in whole seconds: a token may live up to 2 s).
const PAST_EXPIRY_MS = 2_500

const storedSession = (page: import("puppeteer-core").Page) =>
  page.evaluate(() => JSON.parse(localStorage.getItem("agent-platform.console.session") ?? "null") as { accessToken: string } | null)

describe("console: projects, members and the session", () => {
  consoleTest("an expired access token is refreshed transparently; a new project is created and chosen; a member is added", async (page) => {
    const refreshes: Array<{ at: number; status: number }> = []
    page.on("response", (r) => {
      if (r.url().endsWith("/auth/refresh")) refreshes.push({ at: Date.now(), status: r.status() })
    })
    await registerInConsole(page, env.platform.baseUrl, "#/projects")
    // Past the lifetime of any token the page holds now: the next call answers 401, the console refreshes and retries it.
    const mark = Date.now()
    await Bun.sleep(PAST_EXPIRY_MS)
    await page.type("form[aria-label='Create a project'] input", "Second project")
    await clickText(page, "form[aria-label='Create a project'] button", "Create project")
    await waitForText(page, ".list button", /^Second project$/)
    expect(refreshes.filter((r) => r.at > mark).map((r) => r.status)).toContain(200)
    expect((await storedSession(page))?.accessToken).toBeTruthy()
    // The new project becomes the current one, in the header too.
    await page.waitForFunction(() => {
      const picker = document.querySelector("#project-picker") as HTMLSelectElement
      return picker.selectedOptions[0]?.textContent === "Second project"
    })

    const colleague = await signUp(env.platform.baseUrl)
    await page.type("form[aria-label='Add a member'] input[type=email]", colleague.email)
    await page.select("form[aria-label='Add a member'] select", "viewer")
    await clickText(page, "form[aria-label='Add a member'] button", "Add member")
    const row = await waitForText(page, "table[aria-label=Members] tbody tr", new RegExp(colleague.email.replace(/[.+]/g, "\\$&")))
    expect(row).toContain("viewer")
    expect(await page.$$eval("[role=alert]", (els) => els.length)).toBe(0)
  })

  consoleTest("a revoked session sends the user back to the sign-in form", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/projects")
    // Another tab signs out: both tokens die on the server.
    const session = await storedSession(page)
    const res = await fetch(`${env.platform.baseUrl}/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${session!.accessToken}` } })
    expect(res.status).toBe(204)
    await Bun.sleep(PAST_EXPIRY_MS)
    await page.type("form[aria-label='Create a project'] input", "Never")
    await clickText(page, "form[aria-label='Create a project'] button", "Create project")
    await page.waitForSelector("form[aria-label='Sign in']")
    expect(await storedSession(page)).toBeNull()
  })

  consoleTest("an API key is created (shown once), works for an API client, and stops working once revoked", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/projects")
    await page.type("form[aria-label='Create an API key'] input[name=keyName]", "ci-bot")
    await page.select("form[aria-label='Create an API key'] select[name=keyRole]", "viewer")
    await clickText(page, "form[aria-label='Create an API key'] button", "Create key")
    const key = await waitForText(page, "[aria-label='New API key']", /^ak_/)
    const row = await waitForText(page, "table[aria-label='API keys'] tbody tr", /ci-bot/)
    expect(row).toContain("viewer")
    expect(row).toContain("active")
    // The table shows only the prefix, never the key.
    expect(row).not.toContain(key)
    const projectId = await page.$eval("#project-picker", (el) => (el as HTMLSelectElement).value)
    const asKey = () => fetch(`${env.platform.baseUrl}/agents?projectId=${projectId}`, { headers: { "x-api-key": key } })
    expect((await asKey()).status).toBe(200)

    await clickText(page, "tr[data-key=ci-bot] button", "Revoke")
    expect(await waitForText(page, "tr[data-key=ci-bot]", /revoked/)).toContain("revoked")
    expect((await asKey()).status).toBe(401)
  })
})
