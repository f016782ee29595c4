import { Either } from "effect"

/**
 * The safe expression language of conditions, loops and templates: literals,
 * variable paths (`steps.fetch.output.items[0]`), arithmetic, comparison,
 * boolean logic, a ternary and a few pure functions. It is parsed into an AST
 * and interpreted — never `eval`/`Function` — and property access only ever
 * reads own data properties, so `__proto__`/`constructor` lead nowhere.
 */
export type Expr =
  | { readonly _tag: "Literal"; readonly value: unknown }
  | { readonly _tag: "Var"; readonly name: string }
  | { readonly _tag: "Member"; readonly object: Expr; readonly property: Expr }
  | { readonly _tag: "Call"; readonly fn: string; readonly args: ReadonlyArray<Expr> }
  | { readonly _tag: "Unary"; readonly op: "!" | "-"; readonly arg: Expr }
  | { readonly _tag: "Binary"; readonly op: string; readonly left: Expr; readonly right: Expr }
  | { readonly _tag: "Ternary"; readonly test: Expr; readonly then: Expr; readonly otherwise: Expr }
  | { readonly _tag: "List"; readonly items: ReadonlyArray<Expr> }

type Token =
  | { readonly kind: "num"; readonly value: number; readonly pos: number }
  | { readonly kind: "str"; readonly value: string; readonly pos: number }
  | { readonly kind: "ident"; readonly value: string; readonly pos: number }
  | { readonly kind: "op"; readonly value: string; readonly pos: number }

const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", ".", "[", "]", "(", ")", ","]

export const ROOTS = ["input", "steps", "vars", "loop", "run"] as const

/**
 * Limits of one expression. Parsing and evaluation recurse once per level of
 * nesting, so depth must be refused before it reaches the engine's stack
 * (5,000 nested parentheses overflowed it); the length bounds the work.
 */
export const MAX_EXPRESSION_CHARS = 4096
export const MAX_EXPRESSION_DEPTH = 64
/** Levels of the parsed tree (member chains and `a + b + …` add levels without nesting). */
const MAX_TREE_DEPTH = 2 * MAX_EXPRESSION_DEPTH

const isIdentStart = (c: string) => /[A-Za-z_$]/.test(c)
const isIdentPart = (c: string) => /[A-Za-z0-9_$]/.test(c)

const tokenize = (src: string): Either.Either<Array<Token>, string> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i))!
      tokens.push({ kind: "num", value: Number(m[0]), pos: i })
      i += m[0].length
      continue
    }
    if (c === "'" || c === "\"") {
      let j = i + 1
      let out = ""
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\" && j + 1 < src.length) {
          const e = src[j + 1]
          out += e === "n" ? "\n" : e === "t" ? "\t" : e
          j += 2
        } else out += src[j++]
      }
      if (j >= src.length) return Either.left(`unterminated string at ${i}`)
      tokens.push({ kind: "str", value: out, pos: i })
      i = j + 1
      continue
    }
    if (isIdentStart(c)) {
      let j = i + 1
      while (j < src.length && isIdentPart(src[j])) j++
      tokens.push({ kind: "ident", value: src.slice(i, j), pos: i })
      i = j
      continue
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i))
    if (op === undefined) return Either.left(`unexpected character '${c}' at ${i}`)
    tokens.push({ kind: "op", value: op, pos: i })
    i += op.length
  }
  return Either.right(tokens)
}

/** Deepest JSON value `json()` builds: every later step (compare, store) walks values recursively. */
export const MAX_JSON_DEPTH = 256

/** Bracket nesting of JSON text (strings skipped), in one pass, stopping past `limit`. */
export const jsonNesting = (text: string, limit: number): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max && (max = depth) > limit) return max
    } else if (c === 93 || c === 125) depth--
  }
  return max
}

/**
 * JSON.parse, or null when the text is not JSON or nests deeper than MAX_JSON_DEPTH
 * (200,000 nested arrays parse in 0.1 s, then take seconds to overflow the stack of
 * whatever walks them next, on the event loop).
 */
export const parseJson = (text: string): unknown => {
  if (jsonNesting(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

class ParseFailure {
  constructor(readonly message: string) {}
}

const FUNCTIONS: Record<string, (args: ReadonlyArray<unknown>) => unknown> = {
  len: ([v]) => typeof v === "string" || Array.isArray(v) ? v.length : isRecord(v) ? Object.keys(v).length : 0,
  contains: ([hay, needle]) =>
    typeof hay === "string" ? typeof needle === "string" && hay.includes(needle)
    : Array.isArray(hay) ? hay.some((x) => deepEqual(x, needle))
    : isRecord(hay) && typeof needle === "string" && Object.hasOwn(hay, needle),
  lower: ([v]) => typeof v === "string" ? v.toLowerCase() : v,
  upper: ([v]) => typeof v === "string" ? v.toUpperCase() : v,
  trim: ([v]) => typeof v === "string" ? v.trim() : v,
  string: ([v]) => typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v),
  number: ([v]) => Number(v),
  bool: ([v]) => truthy(v),
  keys: ([v]) => isRecord(v) ? Object.keys(v) : [],
  exists: ([v]) => v !== undefined && v !== null,
  json: ([v]) => typeof v === "string" ? parseJson(v) : v,
  min: (args) => Math.min(...args.map(Number)),
  max: (args) => Math.max(...args.map(Number))
}

export const FUNCTION_NAMES = Object.keys(FUNCTIONS)

const parseTokens = (tokens: Array<Token>, source: string): Expr => {
  let p = 0
  let depth = 0
  const nested = <A>(f: () => A): A => {
    if (++depth > MAX_EXPRESSION_DEPTH) throw new ParseFailure(`nested deeper than ${MAX_EXPRESSION_DEPTH} levels`)
    try {
      return f()
    } finally {
      depth--
    }
  }
  const peek = () => tokens[p]
  const opAt = (i: number): string | undefined => {
    const t = tokens[i]
    return t?.kind === "op" ? t.value : undefined
  }
  const isOp = (v: string) => opAt(p) === v
  const expect = (v: string) => {
    if (!isOp(v)) throw new ParseFailure(`expected '${v}' at ${tokens[p]?.pos ?? source.length}`)
    p++
  }
  const binary = (next: () => Expr, ops: ReadonlyArray<string>) => (): Expr => {
    let left = next()
    while (opAt(p) !== undefined && ops.includes(opAt(p)!)) {
      const op = opAt(p++)!
      left = { _tag: "Binary", op, left, right: next() }
    }
    return left
  }
  const primary = (): Expr => {
    const t = peek()
    if (t === undefined) throw new ParseFailure("unexpected end of expression")
    p++
    if (t.kind === "num" || t.kind === "str") return { _tag: "Literal", value: t.value }
    if (t.kind === "ident") {
      if (t.value === "true") return { _tag: "Literal", value: true }
      if (t.value === "false") return { _tag: "Literal", value: false }
      if (t.value === "null") return { _tag: "Literal", value: null }
      if (isOp("(")) {
        const fn = String(t.value)
        if (!Object.hasOwn(FUNCTIONS, fn)) throw new ParseFailure(`unknown function '${fn}'`)
        p++
        const args: Array<Expr> = []
        if (!isOp(")")) {
          args.push(expr())
          while (isOp(",")) {
            p++
            args.push(expr())
          }
        }
        expect(")")
        return { _tag: "Call", fn, args }
      }
      return { _tag: "Var", name: t.value }
    }
    if (t.value === "(") {
      const e = expr()
      expect(")")
      return e
    }
    if (t.value === "[") {
      const items: Array<Expr> = []
      if (!isOp("]")) {
        items.push(expr())
        while (isOp(",")) {
          p++
          items.push(expr())
        }
      }
      expect("]")
      return { _tag: "List", items }
    }
    throw new ParseFailure(`unexpected '${t.value}' at ${t.pos}`)
  }
  const postfix = (): Expr => {
    let e = primary()
    while (true) {
      if (isOp(".")) {
        p++
        const t = peek()
        if (t?.kind !== "ident") throw new ParseFailure(`expected a property name at ${t?.pos ?? source.length}`)
        p++
        e = { _tag: "Member", object: e, property: { _tag: "Literal", value: t.value } }
      } else if (isOp("[")) {
        p++
        const property = expr()
        expect("]")
        e = { _tag: "Member", object: e, property }
      } else return e
    }
  }
  const unary = (): Expr => {
    if (isOp("!") || isOp("-")) {
      const op = opAt(p++) as "!" | "-"
      return { _tag: "Unary", op, arg: nested(unary) }
    }
    return postfix()
  }
  const mul = binary(unary, ["*", "/", "%"])
  const add = binary(mul, ["+", "-"])
  const cmp = binary(add, ["<", "<=", ">", ">="])
  const eq = binary(cmp, ["==", "!="])
  const and = binary(eq, ["&&"])
  const or = binary(and, ["||"])
  function expr(): Expr {
    return nested(ternary)
  }
  function ternary(): Expr {
    const test = or()
    if (!isOp("?")) return test
    p++
    const then = expr()
    expect(":")
    return { _tag: "Ternary", test, then, otherwise: expr() }
  }
  const result = expr()
  if (p < tokens.length) throw new ParseFailure(`unexpected '${tokens[p].value}' at ${tokens[p].pos}`)
  return result
}

/** Levels of the tree; a chain `a + b + c …` is parsed in a loop but evaluated recursively, so it counts too. */
const depthOf = (e: Expr): number => {
  switch (e._tag) {
    case "Literal":
    case "Var":
      return 1
    case "Member": return 1 + Math.max(depthOf(e.object), depthOf(e.property))
    case "Call": return 1 + Math.max(0, ...e.args.map(depthOf))
    case "List": return 1 + Math.max(0, ...e.items.map(depthOf))
    case "Unary": return 1 + depthOf(e.arg)
    case "Binary": return 1 + Math.max(depthOf(e.left), depthOf(e.right))
    case "Ternary": return 1 + Math.max(depthOf(e.test), depthOf(e.then), depthOf(e.otherwise))
  }
}

/** Parses an expression; the error is a message fit for a validation report. */
export const parse = (source: string): Either.Either<Expr, string> => {
  if (source.length > MAX_EXPRESSION_CHARS) {
    return Either.left(`longer than ${MAX_EXPRESSION_CHARS} characters`)
  }
  return Either.flatMap(tokenize(source), (tokens) => {
    if (tokens.length === 0) return Either.left("empty expression")
    try {
      const expr = parseTokens(tokens, source)
      // Bounded by the length above (at most a few thousand levels), so this walk cannot overflow.
      if (depthOf(expr) > MAX_TREE_DEPTH) return Either.left(`more than ${MAX_TREE_DEPTH} operators deep`)
      return Either.right(expr)
    } catch (e) {
      if (e instanceof ParseFailure) return Either.left(e.message)
      throw e
    }
  })
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const truthy = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== 0 && v !== "" && !(Number.isNaN(v))

const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  return JSON.stringify(a) === JSON.stringify(b)
}

const member = (obj: unknown, key: unknown): unknown => {
  if (Array.isArray(obj)) {
    if (key === "length") return obj.length
    return typeof key === "number" && Number.isInteger(key) ? obj[key < 0 ? obj.length + key : key] : undefined
  }
  if (typeof obj === "string" && key === "length") return obj.length
  if (isRecord(obj) && (typeof key === "string" || typeof key === "number")) {
    const k = String(key)
    return Object.hasOwn(obj, k) ? obj[k] : undefined
  }
  return undefined
}

const arith = (op: string, l: unknown, r: unknown): unknown => {
  if (op === "+" && (typeof l === "string" || typeof r === "string")) {
    const s = (v: unknown) => typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v)
    return s(l) + s(r)
  }
  const a = Number(l)
  const b = Number(r)
  switch (op) {
    case "+": return a + b
    case "-": return a - b
    case "*": return a * b
    case "/": return b === 0 ? null : a / b
    default: return b === 0 ? null : a % b
  }
}

const compare = (op: string, l: unknown, r: unknown): boolean => {
  const comparable = (typeof l === "number" && typeof r === "number") || (typeof l === "string" && typeof r === "string")
  if (!comparable) return false
  const a = l as number | string
  const b = r as number | string
  return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b
}

/** Evaluates against a scope of root variables (input, steps, vars, loop, run). Total: never throws. */
export const evaluate = (e: Expr, scope: Readonly<Record<string, unknown>>): unknown => {
  switch (e._tag) {
    case "Literal": return e.value
    case "Var": return Object.hasOwn(scope, e.name) ? scope[e.name] : undefined
    case "Member": return member(evaluate(e.object, scope), evaluate(e.property, scope))
    case "List": return e.items.map((i) => evaluate(i, scope))
    case "Call": return FUNCTIONS[e.fn](e.args.map((a) => evaluate(a, scope)))
    case "Unary": {
      const v = evaluate(e.arg, scope)
      return e.op === "!" ? !truthy(v) : -Number(v)
    }
    case "Ternary": return truthy(evaluate(e.test, scope)) ? evaluate(e.then, scope) : evaluate(e.otherwise, scope)
    case "Binary": {
      if (e.op === "&&") {
        const l = evaluate(e.left, scope)
        return truthy(l) ? evaluate(e.right, scope) : l
      }
      if (e.op === "||") {
        const l = evaluate(e.left, scope)
        return truthy(l) ? l : evaluate(e.right, scope)
      }
      const l = evaluate(e.left, scope)
      const r = evaluate(e.right, scope)
      if (e.op === "==") return deepEqual(l, r)
      if (e.op === "!=") return !deepEqual(l, r)
      if (["<", "<=", ">", ">="].includes(e.op)) return compare(e.op, l, r)
      return arith(e.op, l, r)
    }
  }
}

/** Root variables and the step ids (`steps.<id>` / `steps["<id>"]`) an expression reads. */
export const references = (e: Expr): { roots: Set<string>; steps: Set<string> } => {
  const roots = new Set<string>()
  const steps = new Set<string>()
  const walk = (x: Expr): void => {
    switch (x._tag) {
      case "Var":
        roots.add(x.name)
        return
      case "Member":
        if (x.object._tag === "Var" && x.object.name === "steps" && x.property._tag === "Literal") {
          steps.add(String(x.property.value))
        }
        walk(x.object)
        walk(x.property)
        return
      case "Call":
        x.args.forEach(walk)
        return
      case "List":
        x.items.forEach(walk)
        return
      case "Unary":
        walk(x.arg)
        return
      case "Binary":
        walk(x.left)
        walk(x.right)
        return
      case "Ternary":
        walk(x.test)
        walk(x.then)
        walk(x.otherwise)
        return
      case "Literal":
        return
    }
  }
  walk(e)
  return { roots, steps }
}
