import Ajv, { type ErrorObject, type ValidateFunction } from "ajv"
import Ajv2020 from "ajv/dist/2020.js"
import { Either } from "effect"

export interface ArgumentIssue {
  readonly path: string
  readonly message: string
}

/**
 * Validates tool arguments against the tool's JSON Schema before any call
 * leaves the platform. Compiled validators are cached per schema object (MCP
 * tool lists and registry rows keep their schema objects), so a call costs one
 * compiled-function run, not a compile.
 */
const draft7 = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false })
const draft2020 = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema: false })

const cache = new WeakMap<object, ValidateFunction | null>()

const compile = (schema: Record<string, unknown>): Either.Either<ValidateFunction, string> => {
  const { $schema, ...rest } = schema
  const ajv = typeof $schema === "string" && $schema.includes("2020-12") ? draft2020 : draft7
  try {
    return Either.right(ajv.compile(rest))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
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
  let validate = cache.get(schema)
  if (validate === undefined) {
    validate = Either.getOrNull(compile(schema))
    cache.set(schema, validate)
  }
  const value = args === undefined || args === null ? {} : args
  if (validate === null || validate(value)) return Either.right(value)
  return Either.left((validate.errors ?? []).map(toIssue))
}

export const describeIssues = (tool: string, issues: ReadonlyArray<ArgumentIssue>) =>
  `invalid arguments for ${tool}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`
