import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import * as Expression from "../../src/workflows/Expression.ts"
import { render } from "../../src/workflows/Template.ts"
import { validate } from "../../src/workflows/Validation.ts"

const evalExpr = (src: string, scope: Record<string, unknown> = {}) =>
  Expression.evaluate(Either.getOrThrow(Expression.parse(src)), scope)

const problems = (definition: unknown) => {
  const result = validate(definition)
  if (Either.isRight(result)) throw new Error("expected problems")
  return result.left
}

describe("expression language", () => {
  test("arithmetic, comparison, logic, ternary and functions", () => {
    const scope = { input: { n: 4, tags: ["a", "b"], name: "Ada" }, steps: { s: { output: { items: [1, 2, 3] } } } }
    expect(evalExpr("input.n * 2 + 1", scope)).toBe(9)
    expect(evalExpr("input.n >= 4 && !(input.n == 5)", scope)).toBe(true)
    expect(evalExpr("len(steps.s.output.items) > 2 ? 'many' : 'few'", scope)).toBe("many")
    expect(evalExpr("contains(input.tags, 'b') && lower(input.name) == 'ada'", scope)).toBe(true)
    expect(evalExpr("steps.s.output.items[-1]", scope)).toBe(3)
    expect(evalExpr("steps['s'].output.items.length", scope)).toBe(3)
    expect(evalExpr("'n=' + input.n", scope)).toBe("n=4")
    expect(evalExpr("input.missing.deeper", scope)).toBeUndefined()
    expect(evalExpr("input.n / 0", scope)).toBeNull()
  })

  test("never reaches prototypes or host objects", () => {
    const scope = { input: {} }
    expect(evalExpr("input.constructor", scope)).toBeUndefined()
    expect(evalExpr("input['__proto__']", scope)).toBeUndefined()
    expect(evalExpr("input.toString", scope)).toBeUndefined()
    expect(Either.isLeft(Expression.parse("process.exit(1)"))).toBe(true)
    expect(Either.isLeft(Expression.parse("eval('1')"))).toBe(true)
    expect(Either.isLeft(Expression.parse("a = 1"))).toBe(true)
  })

  test("templates keep types when whole and interpolate otherwise", () => {
    const scope = { input: { n: 2, o: { k: [1] } } }
    expect(render({ a: "{{input.n}}", b: "n is {{input.n}}", c: ["{{ input.o }}"], d: 5 }, scope)).toEqual({
      a: 2,
      b: "n is 2",
      c: [{ k: [1] }],
      d: 5
    })
  })
})

describe("definition validation", () => {
  test("a valid definition with nested control steps passes", () => {
    const result = validate({
      steps: [
        { id: "get", type: "http", url: "https://api.example/{{input.id}}" },
        { id: "check", type: "condition", if: "steps.get.output.status == 200", then: [{ id: "ok", type: "set", values: { v: 1 } }] },
        { id: "each", type: "loop", forEach: "input.items", maxIterations: 10, steps: [{ id: "one", type: "tool", tool: "t", arguments: { x: "{{loop.item}}" } }] },
        { id: "fan", type: "parallel", branches: [[{ id: "p1", type: "wait", durationMs: 10 }], [{ id: "p2", type: "approval" }]] }
      ],
      schedule: { cron: "*/5 * * * *" }
    })
    expect(Either.isRight(result)).toBe(true)
  })

  test("every problem is listed at once: unknown type, dangling references, cycles, bad fields", () => {
    const found = problems({
      steps: [
        { id: "a", type: "teleport" },
        { id: "b", type: "http", url: "{{steps.ghost.output}}" },
        { id: "c", type: "set", values: { x: "{{steps.d.output}}" }, dependsOn: ["d"] },
        { id: "d", type: "set", values: { y: "{{steps.c.output}}" }, dependsOn: ["c"] },
        { id: "e", type: "http" },
        { id: "f", type: "condition", if: "input.x ===", then: [] },
        { id: "g", type: "set", values: { z: "{{ secrets.key }}" } },
        { id: "b", type: "wait", durationMs: 5, dependsOn: ["nowhere"] },
        { id: "h", type: "loop", maxIterations: 5000, steps: [] }
      ],
      schedule: { cron: "every tuesday" }
    })
    const text = found.map((p) => `${p.path}: ${p.message}`)
    const has = (re: RegExp) => expect(text.some((t) => re.test(t))).toBe(true)
    has(/^steps\[0\]\.type: unknown step type "teleport"/)
    has(/references unknown step 'ghost'/)
    has(/dependency cycle: .*c -> d|dependency cycle: .*d -> c/)
    has(/^steps\[4\]\.url: /)
    has(/^steps\[5\]: invalid expression 'input\.x ==='/)
    has(/unknown variable 'secrets'/)
    has(/duplicate step id 'b'/)
    has(/depends on unknown step 'nowhere'/)
    has(/^steps\[8\]\.maxIterations/)
    has(/^schedule\.cron: invalid cron expression/)
    expect(found.length).toBeGreaterThanOrEqual(10)
  })

  test("reading a later sibling is a cycle; loop variables only inside loops", () => {
    const text = problems({
      steps: [
        { id: "first", type: "set", values: { v: "{{steps.second.output}}" } },
        { id: "second", type: "set", values: { v: "{{loop.index}}" } }
      ]
    }).map((p) => p.message)
    expect(text.some((m) => m.startsWith("dependency cycle"))).toBe(true)
    expect(text.some((m) => m.includes("'loop' is only defined inside a loop step"))).toBe(true)
  })

  test("an empty or malformed definition is rejected with paths", () => {
    expect(problems({ steps: [] })[0]).toEqual({ path: "steps", message: "a workflow needs at least one step" })
    expect(problems({ nope: true })[0].path).toBe("steps")
  })
})
