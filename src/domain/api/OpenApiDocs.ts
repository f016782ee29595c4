import { JSONSchema } from "effect"
import { Schedule, stepSchemas } from "../WorkflowDefinition.ts"
import { ENDPOINT_DOCS } from "./EndpointDocs.ts"

/** Where the written guide to the surfaces outside this API (A2A, MCP, WebSockets, metrics) is served. */
export const GUIDE_PATH = "/docs/guide"

const API_DESCRIPTION = [
  "The platform's REST API. Authenticate with `Authorization: Bearer <access token or API key>` (`POST /auth/register` or `/auth/login` give a token).",
  "Every resource belongs to a project; another project's resource answers 404. Errors are JSON `{ _tag, message }` (400s also carry `issues` with a path and a message each).",
  `A2A JSON-RPC, the MCP endpoint, the WebSockets \`/ws/chat\` and \`/ws/events\`, \`/metrics\` and \`/.well-known\` paths are described in the [API guide](${GUIDE_PATH}).`
].join("\n\n")

type Json = Record<string, any>

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

/**
 * The workflow DSL as JSON Schema components: the contract decodes `definition` as unknown
 * (src/workflows/Validation.ts checks it step by step and reports every problem with its path),
 * so the documented shape is built from the same step schemas, nested step lists included.
 */
const workflowComponents = (): Json => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const steps: Json = {}
  for (const [type, schema] of Object.entries(stepSchemas)) {
    const json = JSONSchema.fromAST(schema.ast, {
      definitions,
      definitionPath: "#/components/schemas/",
      target: "openApi3.1"
    }) as Json
    const properties = (json.properties ?? {}) as Json
    // Control steps hold nested lists of steps.
    for (const key of ["then", "else", "steps"]) {
      if (properties[key] !== undefined) properties[key] = { type: "array", items: ref("WorkflowStep") }
    }
    if (properties.branches !== undefined) {
      properties.branches = { type: "array", minItems: 1, maxItems: 64, items: { type: "array", items: ref("WorkflowStep") } }
    }
    steps[`WorkflowStep_${type}`] = { ...json, title: `${type} step` }
  }
  const schedule = JSONSchema.fromAST(Schedule.ast, { definitions, definitionPath: "#/components/schemas/", target: "openApi3.1" })
  return {
    ...definitions,
    ...steps,
    WorkflowStep: {
      description: "One step, by `type`. Values may hold `${…}` expressions over `input`, `steps.<id>.output` and `vars`.",
      oneOf: Object.keys(stepSchemas).map((type) => ref(`WorkflowStep_${type}`)),
      discriminator: { propertyName: "type" }
    },
    WorkflowDefinition: {
      type: "object",
      description: "A workflow: its steps (run in order, or by `dependsOn`), an optional `output` template and an optional cron `schedule` (UTC).",
      required: ["steps"],
      properties: {
        steps: { type: "array", maxItems: 1000, items: ref("WorkflowStep") },
        output: { description: "Template of the run's result, e.g. `${steps.reply.output}`." },
        schedule: schedule
      }
    }
  }
}

/** `definition` properties (declared unknown in the contract) point at the DSL's schema. */
const typeDefinitions = (node: unknown): void => {
  if (Array.isArray(node)) return node.forEach(typeDefinitions)
  if (typeof node !== "object" || node === null) return
  const object = node as Json
  if (typeof object.properties === "object" && object.properties !== null && "definition" in object.properties) {
    object.properties.definition = ref("WorkflowDefinition")
  }
  for (const value of Object.values(object)) typeDefinitions(value)
}

/**
 * The OpenAPI transform of `PlatformApi`: every operation gets its summary and description
 * (and a request example), the workflow DSL its schema, and the API a pointer to the guide.
 */
export const documentEndpoints = (spec: Json): Json => {
  const out = structuredClone(spec)
  out.info = { ...out.info, description: API_DESCRIPTION }
  for (const item of Object.values((out.paths ?? {}) as Json)) {
    for (const operation of Object.values(item as Json) as Array<Json>) {
      if (typeof operation !== "object" || operation === null || typeof operation.operationId !== "string") continue
      const doc = ENDPOINT_DOCS[operation.operationId]
      if (doc === undefined) continue
      operation.summary ??= doc.summary
      operation.description ??= doc.description
      const media = operation.requestBody?.content?.["application/json"]
      if (doc.example !== undefined && media !== undefined) media.example ??= doc.example
    }
  }
  typeDefinitions(out.paths)
  typeDefinitions(out.components)
  out.components = { ...out.components, schemas: { ...out.components?.schemas, ...workflowComponents() } }
  return out
}
