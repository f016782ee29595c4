import { Cause } from "effect"

/**
 * A start-up failure as one readable line for the operator: the error's own
 * message (plus the first detail lines, e.g. which schema lacks an
 * annotation), without stack frames.
 */
export const startupFailure = (cause: Cause.Cause<unknown>) =>
  Cause.pretty(cause)
    .split("\n")
    .filter((line) => !/^\s+at /.test(line) && line.trim() !== "")
    .slice(0, 6)
    .join(" | ")
