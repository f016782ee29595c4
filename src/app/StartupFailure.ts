import { Cause } from "effect"

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
