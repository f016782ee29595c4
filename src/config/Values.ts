import { Config, ConfigError, Either, LogLevel } from "effect"

/**
 * Numeric and enumerated settings whose error names the allowed values: a
 * mistyped or out-of-range environment variable must stop the process with
 * one line saying what would have been accepted, never run with a meaningless
 * value (a negative pool size, a sample ratio of 5). Parsed from the string so
 * "abc" and "-3" get the same message.
 */
const numberIn = (name: string, options: { readonly min: number; readonly max?: number; readonly integer: boolean; readonly allowed: string }) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const n = Number(text.trim())
      const ok = text.trim() !== "" && Number.isFinite(n) && (!options.integer || Number.isInteger(n)) &&
        n >= options.min && (options.max === undefined || n <= options.max)
      return ok
        ? Either.right(n)
        : Either.left(ConfigError.InvalidData([], `expected ${options.allowed}, got ${JSON.stringify(text)}`))
    })
  )

/** An integer of at least 1 (sizes, counts, timeouts). */
export const positiveInteger = (name: string) =>
  numberIn(name, { min: 1, integer: true, allowed: "a positive integer (1 or more)" })

/** An integer of at least 0 (retries, redirects, overlaps: 0 turns the feature off). */
export const nonNegativeInteger = (name: string) =>
  numberIn(name, { min: 0, integer: true, allowed: "an integer, 0 or more" })

/** A number above 0 (rates, seconds). */
export const positiveNumber = (name: string) =>
  numberIn(name, { min: Number.MIN_VALUE, integer: false, allowed: "a number above 0" })

/** A number of at least 0. */
export const nonNegativeNumber = (name: string) =>
  numberIn(name, { min: 0, integer: false, allowed: "a number, 0 or more" })

/** A share between 0 and 1. */
export const ratio = (name: string) =>
  numberIn(name, { min: 0, max: 1, integer: false, allowed: "a number from 0 to 1" })

/** A TCP port. */
export const port = (name: string) =>
  numberIn(name, { min: 1, max: 65535, integer: true, allowed: "a port number from 1 to 65535" })

/** One of the given words (the error lists them). */
export const oneOf = <const A extends ReadonlyArray<string>>(name: string, ...values: A) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) =>
      values.includes(text)
        ? Either.right(text as A[number])
        : Either.left(ConfigError.InvalidData([], `expected one of ${values.join(", ")}, got ${JSON.stringify(text)}`))
    )
  )

/** A log level, any case (Effect's labels: ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF). */
export const logLevel = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const label = text.trim().toUpperCase()
      const level = LogLevel.allLevels.find((l) => l.label === label)
      return level !== undefined
        ? Either.right(level)
        : Either.left(ConfigError.InvalidData([], `expected one of ${LogLevel.allLevels.map((l) => l.label).join(", ")} (any case), got ${JSON.stringify(text)}`))
    })
  )

/**
 * A `ConfigError` as "NAME: what was expected" lines, one per failed variable
 * (Effect's own rendering nests them in parentheses with the path as a list).
 */
export const describeConfigError = (error: ConfigError.ConfigError): Array<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...describeConfigError(error.left), ...describeConfigError(error.right)]
    case "InvalidData":
      return [`invalid setting ${error.path.join("_")}: ${error.message}`]
    case "MissingData":
      return [`missing setting ${error.path.join("_")}: ${error.message}`]
    case "SourceUnavailable":
    case "Unsupported":
      return [`setting ${error.path.join("_")}: ${error.message}`]
  }
}
