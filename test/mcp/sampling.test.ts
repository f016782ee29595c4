import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import { type SignedUp, signUp } from "../support/auth.ts"
import { addSummariseTool } from "./fixtures/samplingTool.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

/**
 * Sampling (issue #21): a registered HTTP server's `sampling/createMessage` is
 * answered with the model its registration names (the offline local model
 * here), only when the registration enables it; otherwise it is refused.
 */
/** A stateful SDK server (one session: the client's answer to its request must come back to it) whose tool asks for sampling. */
const startSamplingServer = async () => {
  const mcp = new McpServer({ name: "samples", version: "1.0.0" })
  addSummariseTool(mcp)
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID() })
  await mcp.connect(transport)
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => transport.handleRequest(req) })
  return { url: `http://127.0.0.1:${server.port}/mcp`, port: server.port!, stop: () => server.stop(true) }
}
const stdioSampler = {
  id: "stdio-sampler",
  description: "a stdio server whose tool asks for sampling",
  command: "bun",
  args: [fileURLToPath(new URL("./fixtures/samplingStdioServer.ts", import.meta.url))],
  env: {},
  params: []
}
const withSampling = await startSamplingServer()
const withoutSampling = await startSamplingServer()

let platform: TestPlatform
let alice: SignedUp

const call = (method: string, path: string, body?: unknown) =>
  fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...alice.headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })

beforeAll(async () => {
  platform = await startPlatform({
    egress: { allow: [`127.0.0.1:${withSampling.port}`, `127.0.0.1:${withoutSampling.port}`] },
    // An operator's stdio entry; projects instantiate it, with or without sampling.
    tools: { ...Effect.runSync(ToolsConfig.config), mcpStdioCatalog: [stdioSampler] }
  })
  alice = await signUp(platform.baseUrl)
}, 300_000)

afterAll(async () => {
  await platform?.stop()
  withSampling.stop()
  withoutSampling.stop()
}, 60_000)

describe("MCP client: sampling", () => {
  test("enabled for a registration: answered by its model; not enabled: refused", async () => {
    const on = await call("POST", "/tools/mcp/register", {
      projectId: alice.projectId,
      name: "sampler",
      transport: { type: "http", url: withSampling.url, sampling: { provider: "local", model: "echo", maxTokens: 64 } }
    })
    expect(on.status).toBe(201)
    const off = await call("POST", "/tools/mcp/register", { projectId: alice.projectId, name: "plain", transport: { type: "http", url: withoutSampling.url } })
    expect(off.status).toBe(201)

    const sampled = await call("POST", "/tools/sampler__summarise/execute", { projectId: alice.projectId })
    expect(sampled.status).toBe(200)
    const text = JSON.stringify(await sampled.json())
    expect(text).toContain("model=echo")
    expect(text).toContain("You said: Summarise tides")

    const refused = await call("POST", "/tools/plain__summarise/execute", { projectId: alice.projectId })
    const body = (await refused.json()) as { isError?: boolean; content?: Array<{ text: string }> }
    expect(body.isError).toBe(true)
    expect(body.content?.[0].text).toContain("refused")
  }, 120_000)

  test("a stdio server from the operators' catalog: sampling when the project's instance enables it, refused otherwise", async () => {
    const register = (name: string, sampling?: unknown) =>
      call("POST", "/tools/mcp/register", {
        projectId: alice.projectId,
        name,
        transport: { type: "catalog", entry: "stdio-sampler", ...(sampling !== undefined ? { sampling } : {}) }
      })
    expect((await register("stdiosampler", { provider: "local", model: "echo", maxTokens: 64 })).status).toBe(201)
    expect((await register("stdioplain")).status).toBe(201)

    const sampled = await call("POST", "/tools/stdiosampler__summarise/execute", { projectId: alice.projectId })
    expect(sampled.status).toBe(200)
    const text = JSON.stringify(await sampled.json())
    expect(text).toContain("model=echo")
    expect(text).toContain("You said: Summarise tides")

    const refused = (await (await call("POST", "/tools/stdioplain__summarise/execute", { projectId: alice.projectId })).json()) as {
      isError?: boolean
      content?: Array<{ text: string }>
    }
    expect(refused.isError).toBe(true)
    expect(refused.content?.[0].text).toContain("refused")
  }, 120_000)
})
