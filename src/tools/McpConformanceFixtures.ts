import { Config, Effect } from "effect"

/**
 * The fixtures `@modelcontextprotocol/conformance`'s server scenarios call by
 * name (`test_simple_text`, `test://static-text`, `test_simple_prompt`…),
 * served by `/mcp` beside the project's own tools so the whole server suite
 * runs against the platform's real endpoint (host guard, bearer auth, body
 * guard, stateless transport). Test-only: `MCP_CONFORMANCE_FIXTURES=1` is
 * refused at start-up unless `NODE_ENV=test`, so no deployment can serve them.
 * Everything here is constant data: no project state is read or written.
 */
export const conformanceFixturesEnabled = Effect.gen(function*() {
  const on = yield* Config.boolean("MCP_CONFORMANCE_FIXTURES").pipe(Config.withDefault(false))
  if (!on) return false
  const nodeEnv = yield* Config.string("NODE_ENV").pipe(Config.withDefault(""))
  if (nodeEnv !== "test") return yield* Effect.dieMessage("MCP_CONFORMANCE_FIXTURES=1 is refused unless NODE_ENV=test")
  return true
}).pipe(Effect.orDie)

/** A 1×1 red PNG and a WAV header with no samples: the smallest valid media the scenarios accept. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
const WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA="

const noArgs = { type: "object" as const, properties: {} }
const stringArg = (name: string, description: string) => ({
  type: "object" as const,
  properties: { [name]: { type: "string", description } },
  required: [name]
})

/** Fixture tools as `tools/list` entries. The ones that need a server-to-client request or stream fail (see `callFixtureTool`). */
export const fixtureTools = [
  { name: "test_simple_text", description: "Returns simple text", inputSchema: noArgs },
  { name: "test_image_content", description: "Returns an image", inputSchema: noArgs },
  { name: "test_audio_content", description: "Returns audio", inputSchema: noArgs },
  { name: "test_embedded_resource", description: "Returns an embedded resource", inputSchema: noArgs },
  { name: "test_multiple_content_types", description: "Returns text, image and a resource", inputSchema: noArgs },
  { name: "test_tool_with_logging", description: "Logs while it runs", inputSchema: noArgs },
  { name: "test_tool_with_progress", description: "Reports progress while it runs", inputSchema: noArgs },
  { name: "test_error_handling", description: "Always fails", inputSchema: noArgs },
  { name: "test_sampling", description: "Asks the client's LLM", inputSchema: stringArg("prompt", "The prompt to send to the LLM") },
  { name: "test_elicitation", description: "Asks the user", inputSchema: stringArg("message", "The message to show the user") },
  { name: "test_elicitation_sep1034_defaults", description: "Asks the user (defaults)", inputSchema: noArgs },
  { name: "test_elicitation_sep1330_enums", description: "Asks the user (enums)", inputSchema: noArgs },
  {
    name: "json_schema_2020_12_tool",
    description: "Tool with JSON Schema 2020-12 features",
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object" as const,
      $defs: { address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false
    }
  }
] as const

const text = (t: string) => ({ type: "text" as const, text: t })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What a fixture tool's handler may use of the SDK's request context. */
export interface FixtureCallContext {
  readonly progressToken: string | number | undefined
  readonly notify: (notification: { method: string; params: Record<string, unknown> }) => Promise<void>
}

/**
 * The fixture's result, or undefined when `name` is no fixture. Notifications are sent as the
 * reference server does; this stateless endpoint answers JSON, where the SDK drops them.
 */
export const callFixtureTool = async (name: string, args: Record<string, unknown>, context: FixtureCallContext) => {
  switch (name) {
    case "test_simple_text":
      return { content: [text("This is a simple text response for testing.")] }
    case "test_image_content":
      return { content: [{ type: "image" as const, data: PNG, mimeType: "image/png" }] }
    case "test_audio_content":
      return { content: [{ type: "audio" as const, data: WAV, mimeType: "audio/wav" }] }
    case "test_embedded_resource":
      return {
        content: [{
          type: "resource" as const,
          resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." }
        }]
      }
    case "test_multiple_content_types":
      return {
        content: [
          text("Multiple content types test:"),
          { type: "image" as const, data: PNG, mimeType: "image/png" },
          {
            type: "resource" as const,
            resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: JSON.stringify({ test: "data", value: 123 }) }
          }
        ]
      }
    case "test_tool_with_logging": {
      for (const [i, data] of ["Tool execution started", "Tool processing data", "Tool execution completed"].entries()) {
        if (i > 0) await sleep(50)
        await context.notify({ method: "notifications/message", params: { level: "info", data } })
      }
      return { content: [text("Tool with logging executed successfully")] }
    }
    case "test_tool_with_progress": {
      for (const [i, progress] of [0, 50, 100].entries()) {
        if (i > 0) await sleep(50)
        if (context.progressToken !== undefined) {
          await context.notify({ method: "notifications/progress", params: { progressToken: context.progressToken, progress, total: 100 } })
        }
      }
      return { content: [text("Tool with progress executed successfully")] }
    }
    case "test_error_handling":
      return { content: [text("This tool intentionally returns an error for testing")], isError: true }
    case "test_sampling":
    case "test_elicitation":
    case "test_elicitation_sep1034_defaults":
    case "test_elicitation_sep1330_enums":
      // A request to the client needs the client's answer to reach this server instance: the
      // stateless endpoint keeps no session for it to come back to.
      return { content: [text(`${name}: this stateless endpoint cannot send requests to the client`)], isError: true }
    case "json_schema_2020_12_tool":
      return { content: [text(`Received: ${JSON.stringify(args)}`)] }
    default:
      return undefined
  }
}

export const fixtureResources = [
  { uri: "test://static-text", name: "static-text", description: "A static text resource", mimeType: "text/plain" },
  { uri: "test://static-binary", name: "static-binary", description: "A static binary resource", mimeType: "image/png" },
  { uri: "test://watched-resource", name: "watched-resource", description: "A resource clients may watch", mimeType: "text/plain" }
] as const

export const fixtureResourceTemplates = [
  { uriTemplate: "test://template/{id}/data", name: "template-data", description: "Data by id", mimeType: "application/json" }
] as const

export const readFixtureResource = (uri: string) => {
  if (uri === "test://static-text") {
    return { contents: [{ uri, mimeType: "text/plain", text: "This is the content of the static text resource." }] }
  }
  if (uri === "test://static-binary") return { contents: [{ uri, mimeType: "image/png", blob: PNG }] }
  if (uri === "test://watched-resource") return { contents: [{ uri, mimeType: "text/plain", text: "Watched resource content." }] }
  const id = /^test:\/\/template\/([^/]+)\/data$/.exec(uri)?.[1]
  if (id !== undefined) {
    return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }
  }
  return undefined
}

export const fixturePrompts = [
  { name: "test_simple_prompt", description: "A prompt without arguments", arguments: [] },
  {
    name: "test_prompt_with_arguments",
    description: "A prompt with arguments",
    arguments: [
      { name: "arg1", description: "First test argument", required: true },
      { name: "arg2", description: "Second test argument", required: true }
    ]
  },
  {
    name: "test_prompt_with_embedded_resource",
    description: "A prompt with an embedded resource",
    arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }]
  },
  { name: "test_prompt_with_image", description: "A prompt with an image", arguments: [] }
] as const

export const getFixturePrompt = (name: string, args: Record<string, string>) => {
  switch (name) {
    case "test_simple_prompt":
      return { messages: [{ role: "user" as const, content: text("This is a simple prompt for testing.") }] }
    case "test_prompt_with_arguments":
      return {
        messages: [{ role: "user" as const, content: text(`Prompt with arguments: arg1='${args.arg1 ?? ""}', arg2='${args.arg2 ?? ""}'`) }]
      }
    case "test_prompt_with_embedded_resource":
      return {
        messages: [
          {
            role: "user" as const,
            content: {
              type: "resource" as const,
              resource: { uri: args.resourceUri ?? "test://example-resource", mimeType: "text/plain", text: "Embedded resource content for testing." }
            }
          },
          { role: "user" as const, content: text("Please process the embedded resource above.") }
        ]
      }
    case "test_prompt_with_image":
      return {
        messages: [
          { role: "user" as const, content: { type: "image" as const, data: PNG, mimeType: "image/png" } },
          { role: "user" as const, content: text("Please analyze the image above.") }
        ]
      }
    default:
      return undefined
  }
}
