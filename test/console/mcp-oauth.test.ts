import { afterAll, describe, expect } from "bun:test"
import { Option } from "effect"
import { freePort } from "../support/freePort.ts"
import { startAuthorizationServer, startProtectedMcpServer } from "../mcp/fixtures/oauthServers.ts"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

/**
 * An OAuth-protected MCP server registered and authorized from the console, with a real browser
 * following the real redirects: console → authorization server → the platform's default redirect
 * URL (`/oauth/mcp/callback`, a console page) → the server's tools usable.
 */
const as = startAuthorizationServer({ clientId: "unused", clientSecret: "unused" })
const mcp = startProtectedMcpServer(as.url, as.isValid)
// The redirect URL is the platform's public address: known before it starts.
const port = await freePort()
const { env, consoleTest } = useConsole({
  httpPort: port,
  publicBaseUrl: Option.some(`http://127.0.0.1:${port}`),
  egress: { allow: [`127.0.0.1:${as.port}`, `127.0.0.1:${mcp.port}`] }
})
afterAll(() => {
  as.stop()
  mcp.stop()
})

describe("console: MCP server with OAuth", () => {
  consoleTest("register with OAuth, authorize through the authorization server's redirect, then call its tool", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/tools")
    const form = "form[aria-label='Register an MCP server']"
    await page.type(`${form} input[name=name]`, "guarded")
    await page.type(`${form} input[name=url]`, mcp.url)
    await page.click(`${form} input[name=oauth]`)
    await page.click(`${form} button[type=submit]`)
    await page.waitForSelector("li[data-server=guarded] button")

    // Authorize: the browser leaves for the authorization server and comes back with code and state.
    await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      clickText(page, "li[data-server=guarded] button", "Authorize")
    ])
    expect(await waitForText(page, "[role=status]", /authorized/)).toContain("authorized")
    expect(as.grants).toContain("authorization_code")
    // The one-time code and state are gone from the address bar.
    const landed = new URL(page.url())
    expect(landed.pathname).toBe("/oauth/mcp/callback")
    expect(landed.search).toBe("")

    await page.goto(`${env.platform.baseUrl}/#/tools`)
    await clickText(page, ".list a", "guarded__secret_number")
    await clickText(page, "form[aria-label='Try guarded__secret_number'] button", "Call guarded__secret_number")
    expect(await waitForText(page, "pre[aria-label='Tool result']", /42/)).toContain("42")
    expect(mcp.tokensSeen.length).toBeGreaterThan(0)
  })

  consoleTest("a redirect that carries an error (the user refused) says so and posts nothing", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/tools")
    await page.goto(`${env.platform.baseUrl}/oauth/mcp/callback?error=access_denied&error_description=The+user+said+no`)
    expect(await waitForText(page, "[role=alert]", /AuthorizationDenied/)).toContain("The user said no")
  })
})
