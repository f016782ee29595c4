/**
 * Checks JSON text before anything decodes it. Postgres text and jsonb cannot
 * hold NUL, so a NUL in any string would fail deep inside a query (a 500); a JSON value nested
 * thousands deep overflows the stack of every recursive walker after JSON.parse (schema
 * decoding, error formatting). One linear pass over the text, no parse (about as long as JSON.parse).
 */
export const MAX_JSON_DEPTH = 64

export type BodyProblem = "nul" | "depth"

/** Where a scan stopped: resumable, so a long text can be checked in slices between other work. */
export interface JsonScan {
  readonly position: number
  readonly depth: number
  readonly inString: boolean
}

export const JSON_SCAN_START: JsonScan = { position: 0, depth: 0, inString: false }

/**
 * Scans `text` from `scan.position` up to about `until`: a problem (a NUL character, written raw
 * or as the `\u0000` escape, in a string or key; or arrays/objects nested deeper than
 * `maxDepth`), or where it stopped (`position >= text.length`: the whole text is clean).
 */
export const scanJsonText = (
  text: string,
  scan: JsonScan,
  until: number,
  maxDepth: number = MAX_JSON_DEPTH
): BodyProblem | JsonScan => {
  let depth = scan.depth
  let inString = scan.inString
  const end = Math.min(until, text.length)
  let i = scan.position
  for (; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === 0) return "nul"
    if (inString) {
      if (c === 92) {
        // `\u0000`; any other escape is skipped whole so `\\u0000` (a backslash, then text) passes.
        if (
          text.charCodeAt(i + 1) === 117 && text.charCodeAt(i + 2) === 48 && text.charCodeAt(i + 3) === 48 &&
          text.charCodeAt(i + 4) === 48 && text.charCodeAt(i + 5) === 48
        ) return "nul"
        i++
      } else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return "depth"
    } else if (c === 93 || c === 125) depth--
  }
  return { position: i, depth, inString }
}

/** The first problem of a whole JSON (or JSON-like) text, in one pass. */
export const jsonTextProblem = (text: string, maxDepth: number = MAX_JSON_DEPTH): BodyProblem | undefined => {
  const result = scanJsonText(text, JSON_SCAN_START, text.length, maxDepth)
  return typeof result === "string" ? result : undefined
}

export const bodyProblemMessage = (problem: BodyProblem, where = "the request body", maxDepth: number = MAX_JSON_DEPTH): string =>
  problem === "nul"
    ? `NUL characters (\\u0000) are not allowed in ${where}`
    : `${where} is nested deeper than ${maxDepth} levels`

/**
 * The same check over an already-decoded value (an RPC payload that arrived
 * over a WebSocket frame, where no HTTP body guard ran): strings and keys
 * holding NUL, or nesting deeper than `maxDepth`. Iterative, so a hostile
 * depth cannot overflow the stack here.
 */
export const valueProblem = (value: unknown, maxDepth: number = MAX_JSON_DEPTH): BodyProblem | undefined => {
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v === "string") {
      if (v.includes("\u0000")) return "nul"
    } else if (v !== null && typeof v === "object") {
      if (depth >= maxDepth) return "depth"
      for (const [key, child] of Object.entries(v)) {
        if (key.includes("\u0000")) return "nul"
        stack.push([child, depth + 1])
      }
    }
  }
  return undefined
}
