import { Cause, ConfigError } from "effect"
import { describeConfigError } from "../config/Values.ts"

/**
 * A start-up failure as one readable line for the operator: the error's own
 * message (plus the first detail lines, e.g. which schema lacks an
 * annotation), without stack frames.
 */
export const startupFailure = (cause: Cause.Cause<unknown>) =>
  [...Cause.pretty(cause).split("\n"), ...nestedMessages(Cause.squash(cause))]
    .filter((line) => !/^\s+at /.test(line) && line.trim() !== "")
    .slice(0, 8)
    .join(" | ")

/** The `cause` chain's messages: a SqlError says only "Failed to execute statement", its cause says why. */
const nestedMessages = (error: unknown): Array<string> => {
  const out: Array<string> = []
  let current = error instanceof Error ? error.cause : undefined
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    out.push(`caused by: ${current.message}`)
    current = current.cause
  }
  return out
}

/**
 * The settings errors in a start-up failure (empty when it failed for another
 * reason): "invalid setting HTTP_PORT: expected a port number from 1 to 65535, got \"abc\"".
 */
export const settingsFailure = (cause: Cause.Cause<unknown>): Array<string> =>
  Cause.failures(cause).pipe((failures) =>
    [...failures].flatMap((error) => (ConfigError.isConfigError(error) ? describeConfigError(error) : []))
  )
