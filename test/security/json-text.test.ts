import { describe, expect, test } from "bun:test"
import { type BodyProblem, JSON_SCAN_START, type JsonScan, jsonTextProblem, scanJsonText, valueProblem } from "../../src/kernel/JsonText.ts"

/** The edge scans large bodies in slices (yielding between them): every slicing must agree with one pass. */
const inSlices = (text: string, size: number) => {
  let scan: JsonScan = JSON_SCAN_START
  for (;;) {
    const next = scanJsonText(text, scan, scan.position + size)
    if (typeof next === "string") return next
    if (next.position >= text.length) return undefined
    scan = next
  }
}

const texts: Array<[string, BodyProblem | undefined]> = [
  [JSON.stringify({ a: "x\u0000y" }), "nul"],
  [JSON.stringify({ ["k\u0000"]: 1 }), "nul"],
  ["{\"a\":\"x\u0000\"}", "nul"],
  [JSON.stringify({ a: "\\u0000", b: "\\\\", c: "\"[[[{{{" }), undefined],
  ["[".repeat(65) + "]".repeat(65), "depth"],
  ["[".repeat(64) + "]".repeat(64), undefined],
  [JSON.stringify({ s: "[".repeat(500) }), undefined],
  [JSON.stringify({ list: Array.from({ length: 50 }, (_, i) => ({ i, t: `q"\\${i}` })) }), undefined]
]

describe("JSON text scan", () => {
  test("NUL in strings or keys and depth > 64 are found; escapes and brackets inside strings are not mistaken", () => {
    expect(texts.map(([text]) => jsonTextProblem(text))).toEqual(texts.map(([, expected]) => expected))
  })

  test("any slice size gives the same answer as one pass (escapes may straddle a slice edge)", () => {
    for (const [text, expected] of texts) {
      for (let size = 1; size <= 9; size++) expect(inSlices(text, size)).toBe(expected)
    }
  })
})

describe("valueProblem: the same rules over a decoded payload", () => {
  test("NUL in a string or a key, and depth past the limit, are found; ordinary values pass", () => {
    expect(valueProblem({ a: ["x", { b: "y\u0000" }] })).toBe("nul")
    expect(valueProblem({ ["k\u0000"]: 1 })).toBe("nul")
    let deep: unknown = 1
    for (let i = 0; i < 65; i++) deep = [deep]
    expect(valueProblem(deep)).toBe("depth")
    let shallow: unknown = 1
    for (let i = 0; i < 64; i++) shallow = [shallow]
    expect(valueProblem(shallow)).toBeUndefined()
    expect(valueProblem({ name: "agent", tags: ["a", "b"], n: 3, ok: true, none: null })).toBeUndefined()
  })
})

