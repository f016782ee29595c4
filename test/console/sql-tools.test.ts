import { afterAll, describe, expect } from "bun:test"
import { Database } from "bun:sqlite"
import * as path from "node:path"
import { makeTempDir } from "../support/tempDir.ts"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

// SQLite files are reachable only from directories the operator allows.
const sqliteDir = makeTempDir("console-sqlite")
const { env, consoleTest } = useConsole({ sqlTool: { sqliteAllowDirs: [sqliteDir.dir] } })
afterAll(() => sqliteDir.remove())

describe("console: SQL and tools", () => {
  consoleTest("add a SQLite connection, browse its schema, run a read-only query, see a write refused, explain", async (page) => {
    const file = path.join(sqliteDir.dir, "shop.db")
    const db = new Database(file)
    db.run("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)")
    db.run("INSERT INTO orders (customer, total) VALUES ('ada', 12.5), ('grace', 40)")
    db.close()

    await registerInConsole(page, env.platform.baseUrl, "#/sql")
    await page.type("form[aria-label='Add a connection'] input[name=name]", "shop")
    await page.type("form[aria-label='Add a connection'] input[name=connectionString]", `sqlite:${file}`)
    await page.click("form[aria-label='Add a connection'] button[type=submit]")
    await waitForText(page, ".list a", /^shop$/)

    await page.waitForSelector("li[data-table=orders] summary")
    await page.click("li[data-table=orders] summary")
    expect(await page.$eval("li[data-table=orders]", (el) => el.textContent)).toContain("customer")
    await clickText(page, "li[data-table=orders] button", "Query this table")
    await page.click("form[aria-label='Read-only query'] button[type=submit]")
    const result = await waitForText(page, "[aria-label='Query result']", /2 rows/)
    expect(result).toContain("grace")

    await page.$eval("textarea[name=sql]", (el) => {
      ;(el as HTMLTextAreaElement).value = "DELETE FROM orders"
      el.dispatchEvent(new Event("input", { bubbles: true }))
    })
    await page.click("form[aria-label='Read-only query'] button[type=submit]")
    expect(await waitForText(page, "[role=alert]", /QueryRejected/)).toContain("QueryRejected")

    await page.$eval("textarea[name=sql]", (el) => {
      ;(el as HTMLTextAreaElement).value = "SELECT * FROM orders WHERE customer = 'ada'"
      el.dispatchEvent(new Event("input", { bubbles: true }))
    })
    await clickText(page, "form[aria-label='Read-only query'] button", "Explain")
    expect(await waitForText(page, "[aria-label=Plan] pre", /\S/)).toMatch(/orders/i)
  })

  consoleTest("a built-in tool's JSON Schema becomes a labelled form; calling it shows the result", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/tools")
    await clickText(page, ".list a", "rag_search")
    await page.waitForSelector("form[aria-label='Try rag_search']")
    const labels = await page.$$eval("form[aria-label='Try rag_search'] label", (els) => els.map((el) => el.textContent))
    expect(labels).toEqual(["query (required)", "k", "mode"])
    // `mode` has an enum: a select of its values.
    expect(await page.$$eval("form[aria-label='Try rag_search'] select option", (els) => els.map((el) => el.textContent))).toEqual(["—", "hybrid", "vector", "text"])
    await page.type("form[aria-label='Try rag_search'] input[type=text]", "anything")
    await page.type("form[aria-label='Try rag_search'] input[type=number]", "3")
    await clickText(page, "form[aria-label='Try rag_search'] button", "Call rag_search")
    expect(await waitForText(page, "pre[aria-label='Tool result']", /hits/)).toContain("\"hits\"")
  })
})
