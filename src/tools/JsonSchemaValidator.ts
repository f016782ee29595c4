import Ajv, { type ErrorObject, type ValidateFunction } from "ajv"
import Ajv2020 from "ajv/dist/2020.js"
import { Either } from "effect"

export interface ArgumentIssue {
  readonly path: string
  readonly message: string
}

/**
 * Validates tool arguments against the tool's JSON Schema before any call
 * leaves the platform. A call costs one compiled-function run, not a compile
 * (~1 µs against ~0.5 ms): validators are cached by schema object (MCP tool
 * lists keep theirs) and by schema text, because an HTTP tool's row, schema
 * included, is read afresh from SQL on every call.
 */
const draft7 = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false })
const draft2020 = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema: false })

/** Distinct schemas kept compiled; the least recently used is dropped past this. */
const MAX_CACHED_SCHEMAS = 1_000

const byObject = new WeakMap<object, ValidateFunction | null>()
const byText = new Map<string, ValidateFunction | null>()

const compile = (schema: Record<string, unknown>): Either.Either<ValidateFunction, string> => {
  const { $schema, ...rest } = schema
  const ajv = typeof $schema === "string" && $schema.includes("2020-12") ? draft2020 : draft7
  try {
    return Either.right(ajv.compile(rest))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  } finally {
    // Ajv keeps every compiled schema (by object, and by `$id`): left there it
    // would grow without bound, and a second schema with the same `$id` (the
    // same tool re-read, or updated) would fail to compile — which accepts
    // everything. The returned function does not need Ajv's registry.
    ajv.removeSchema(rest)
  }
}

const cachedValidator = (schema: Record<string, unknown>): ValidateFunction | null => {
  const known = byObject.get(schema)
  if (known !== undefined) return known
  const text = JSON.stringify(schema)
  let validate = byText.get(text)
  if (validate === undefined) {
    validate = Either.getOrNull(compile(schema))
    if (byText.size >= MAX_CACHED_SCHEMAS) byText.delete(byText.keys().next().value as string)
  } else {
    byText.delete(text)
  }
  byText.set(text, validate)
  byObject.set(schema, validate)
  return validate
}

/** Left(reason) when the schema itself is not a usable JSON Schema (checked when HTTP tools are registered). */
export const checkSchema = (schema: Record<string, unknown>): Either.Either<void, string> =>
  Either.map(compile(schema), () => undefined)

const toIssue = (error: ErrorObject): ArgumentIssue => {
  const base = error.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
  // A missing or unexpected property is reported on its parent: name the field itself.
  const field = error.keyword === "required"
    ? (error.params as { missingProperty: string }).missingProperty
    : error.keyword === "additionalProperties"
    ? (error.params as { additionalProperty: string }).additionalProperty
    : undefined
  const segments = field === undefined ? base : [...base, field]
  const path = segments.join(".")
  const message = error.keyword === "required"
    ? "is required"
    : error.keyword === "additionalProperties"
    ? "is not allowed"
    : error.message ?? "is invalid"
  return { path: path === "" ? "(arguments)" : path, message }
}

/**
 * Right(args) when valid (arguments default to `{}` when absent); Left(issues)
 * naming each offending field. A schema that cannot be compiled accepts
 * everything: the tool's own server still validates.
 */
export const validateArguments = (
  schema: Record<string, unknown>,
  args: unknown
): Either.Either<unknown, ReadonlyArray<ArgumentIssue>> => {
  const validate = cachedValidator(schema)
  const value = args === undefined || args === null ? {} : args
  if (validate === null || validate(value)) return Either.right(value)
  return Either.left((validate.errors ?? []).map(toIssue))
}

export const describeIssues = (tool: string, issues: ReadonlyArray<ArgumentIssue>) =>
  `invalid arguments for ${tool}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`
