import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { checkSchema, validateArguments } from "../../src/tools/JsonSchemaValidator.ts"

/** What a registry read returns: the same schema content in a new object each time. */
const fromRow = (schema: Record<string, unknown>) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>

const weather = {
  $id: "https://tools.example/weather",
  type: "object",
  properties: { city: { type: "string" }, days: { type: "integer", minimum: 1 } },
  required: ["city"]
}

const issues = (schema: Record<string, unknown>, args: unknown) =>
  Either.match(validateArguments(schema, args), { onLeft: (l) => l, onRight: () => [] })

describe("JsonSchemaValidator", () => {
  test("a schema re-read as a new object keeps validating, $id included", () => {
    // Ajv refuses a second schema with the same $id: before the fix the second read compiled to "accept all".
    for (let read = 0; read < 3; read++) {
      expect(issues(fromRow(weather), { days: 0 })).toEqual([
        { path: "city", message: "is required" },
        { path: "days", message: "must be >= 1" }
      ])
      expect(Either.isRight(validateArguments(fromRow(weather), { city: "Oslo", days: 2 }))).toBe(true)
    }
  })

  test("an updated schema under the same $id is the one enforced", () => {
    const updated = { ...weather, required: ["city", "days"] }
    expect(issues(fromRow(weather), { city: "Oslo" })).toEqual([])
    expect(issues(fromRow(updated), { city: "Oslo" })).toEqual([{ path: "days", message: "is required" }])
    expect(issues(fromRow(weather), { city: "Oslo" })).toEqual([])
  })

  test("a fresh schema object per call costs a lookup, not a compile", () => {
    const schema = { type: "object", properties: { q: { type: "string", minLength: 1 } }, required: ["q"] }
    validateArguments(fromRow(schema), { q: "warm" })
    const calls = 2_000
    const started = performance.now()
    for (let i = 0; i < calls; i++) validateArguments(fromRow(schema), { q: "x" })
    const perCall = (performance.now() - started) / calls
    // A compile is ~0.5 ms on this machine; a cached lookup with the copy is well under 0.1 ms even under load.
    expect(perCall).toBeLessThan(0.1)
  })

  test("schemas that do not compile are reported by checkSchema and accept anything at call time", () => {
    const broken = { type: "object", properties: { a: { $ref: "#/definitions/missing" } } }
    expect(Either.isLeft(checkSchema(broken))).toBe(true)
    expect(Either.isRight(validateArguments(fromRow(broken), { a: 1 }))).toBe(true)
  })

  test("absent arguments are validated as {}", () => {
    expect(issues({ type: "object", required: ["x"] }, undefined)).toEqual([{ path: "x", message: "is required" }])
    expect(validateArguments({ type: "object" }, null)).toEqual(Either.right({}))
  })
})
