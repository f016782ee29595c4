import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startPlatform, type TestPlatform } from "../support/platform.ts"

let platform: TestPlatform

beforeAll(async () => {
  platform = await startPlatform()
}, 90_000)
afterAll(() => platform?.stop())

type Operation = { operationId: string; summary?: string; description?: string; requestBody?: any }

const operations = (spec: any): Array<Operation & { route: string }> =>
  Object.entries(spec.paths).flatMap(([path, item]: [string, any]) =>
    Object.entries(item).map(([method, op]: [string, any]) => ({ ...op, route: `${method.toUpperCase()} ${path}` }))
  )

describe("API docs", () => {
  test("every operation of /openapi.json has a summary and a description", async () => {
    const spec = await (await fetch(`${platform.baseUrl}/openapi.json`)).json()
    const all = operations(spec)
    const undocumented = all.filter((op) => !op.summary?.trim() || !op.description?.trim()).map((op) => op.route)
    expect(undocumented).toEqual([])
    expect(all.length).toBeGreaterThan(80)
    // Summaries are short titles, not copies of the description.
    for (const op of all) {
      expect(op.summary!.length).toBeLessThan(60)
      expect(op.description).not.toBe(op.summary)
    }
    // The API's description points at the guide.
    expect(spec.info.description).toContain("/docs/guide")
  })

  test("request bodies that need one carry an example", async () => {
    const spec = await (await fetch(`${platform.baseUrl}/openapi.json`)).json()
    const example = (method: string, path: string) => spec.paths[path][method].requestBody.content["application/json"].example
    expect(example("post", "/agents")).toMatchObject({ projectId: expect.any(String), name: expect.any(String) })
    expect(example("post", "/agents/{id}/execute")).toMatchObject({ task: expect.any(String) })
    expect(example("post", "/workflows").definition.steps.length).toBeGreaterThan(0)
    expect(example("post", "/observability/alerts").metric).toBe("tool_errors_total")
  })

  test("the workflow definition is the DSL's schema, not unknown", async () => {
    const spec = await (await fetch(`${platform.baseUrl}/openapi.json`)).json()
    const body = spec.paths["/workflows"].post.requestBody.content["application/json"].schema
    expect(body.properties.definition).toEqual({ $ref: "#/components/schemas/WorkflowDefinition" })
    const schemas = spec.components.schemas
    expect(schemas.WorkflowDefinition.properties.steps.items).toEqual({ $ref: "#/components/schemas/WorkflowStep" })
    const types = schemas.WorkflowStep.oneOf.map((r: { $ref: string }) => schemas[r.$ref.split("/").pop()!].properties.type.enum[0])
    expect(types).toEqual(["agent", "tool", "rag", "sql", "http", "set", "wait", "approval", "subworkflow", "condition", "parallel", "loop"])
    // Nested step lists refer back to a step.
    expect(schemas.WorkflowStep_loop.properties.steps.items).toEqual({ $ref: "#/components/schemas/WorkflowStep" })
    expect(schemas.WorkflowStep_parallel.properties.branches.items.items).toEqual({ $ref: "#/components/schemas/WorkflowStep" })
    expect(schemas.WorkflowStep_agent.required).toEqual(expect.arrayContaining(["id", "type", "agentId"]))
    // Every reference resolves.
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1].replace(/~1/g, "/"))
    expect([...new Set(refs)].filter((name) => !(name in schemas))).toEqual([])
  })

  test("the guide to A2A, MCP, WebSockets and metrics is served as HTML and Markdown, linked from /docs", async () => {
    const html = await fetch(`${platform.baseUrl}/docs/guide`)
    expect(html.status).toBe(200)
    expect(html.headers.get("content-type")).toContain("text/html")
    const text = await html.text()
    for (const heading of ["A2A (agent-to-agent JSON-RPC)", "MCP: the platform as an MCP server", "WebSocket <code>/ws/chat</code>", "WebSocket <code>/ws/events</code>", "Metrics", "The offline model"]) {
      expect(text).toContain(heading)
    }
    for (const term of ["SendMessage", "message/send", "?projectId=", "TOOLS_HTTP_FETCH_ALLOW", "/.well-known/agent-card.json", "{&quot;type&quot;:&quot;chat&quot;"]) {
      expect(text.replaceAll("\"", "&quot;")).toContain(term)
    }
    expect(text).toContain("<table>")
    const markdown = await fetch(`${platform.baseUrl}/docs/guide.md`)
    expect(markdown.headers.get("content-type")).toContain("text/markdown")
    expect(await markdown.text()).toStartWith("# API guide")
    expect(await (await fetch(`${platform.baseUrl}/docs`)).text()).toContain("/docs/guide")
  })
})
