import { afterAll, beforeAll, describe, expect } from "bun:test"
import { Effect } from "effect"
import { A2AFlowRecorder } from "../../src/observability/A2AFlows.ts"
import { clickText, registerInConsole, useConsole, waitForText } from "./browser.ts"

// Alert webhooks are saved only for destinations the egress policy admits: a local receiver here.
const { env, consoleTest } = useConsole({ egress: { allow: ["127.0.0.1"] } })
let receiver: ReturnType<typeof Bun.serve>
beforeAll(() => {
  receiver = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") })
})
afterAll(() => receiver?.stop(true))

describe("console: flows, metrics, alerts", () => {
  consoleTest("recorded A2A hops draw as a graph; metrics chart their series; an alert rule is created and listed", async (page) => {
    await registerInConsole(page, env.platform.baseUrl, "#/observability")
    const projectId = await page.$eval("#project-picker", (el) => (el as HTMLSelectElement).value)
    await env.platform.runtime.runPromise(
      Effect.gen(function*() {
        const recorder = yield* A2AFlowRecorder
        for (const ms of [12, 30]) {
          yield* recorder.record({ from: "planner", to: "researcher", method: "SendMessage", durationMs: ms, status: "ok", projectId, traceId: null })
        }
        yield* recorder.record({ from: "researcher", to: "writer", method: "SendMessage", durationMs: 7, status: "error", projectId, traceId: null, error: "timeout" })
      })
    )
    await clickText(page, "section[aria-label='A2A flows'] button", "Refresh")
    await page.waitForSelector("svg.graph g[data-edge='planner->researcher']")
    expect(await page.$$eval("svg.graph g[data-node]", (els) => els.map((el) => el.getAttribute("data-node")).sort())).toEqual(["planner", "researcher", "writer"])
    expect(await page.$eval("g[data-edge='planner->researcher'] text", (el) => el.textContent)).toMatch(/^2× p95 \d+ ms$/)
    expect(await page.$eval("g[data-edge='researcher->writer'] line", (el) => el.getAttribute("stroke"))).toBe("#b42318")

    // The request counter has a series per route. Metrics are process-wide and the chart shows the
    // largest series, so in a full test run other suites' traffic may outrank this page's own:
    // assert the chart draws labelled series with counts, not which routes lead.
    await clickText(page, "section[aria-label=Metrics] button", "Refresh")
    const bars = await waitForText(page, "ul.bars", /route="[^"]+"/)
    expect(bars).toMatch(/method="(GET|POST)"/)
    expect(await page.$$eval("ul.bars li", (els) => els.length)).toBeGreaterThan(1)

    await page.type("form[aria-label='New alert rule'] input[name=name]", "too many requests")
    await page.type("form[aria-label='New alert rule'] input[name=webhookUrl]", `http://127.0.0.1:${receiver.port}/hook`)
    await clickText(page, "form[aria-label='New alert rule'] button", "Create rule")
    const row = await waitForText(page, "table[aria-label='Alert rules'] tbody tr", /too many requests/)
    expect(row).toContain("last(http_server_requests_total) gt 100")
  })
})
