import { Either } from "effect"
import * as Expression from "./Expression.ts"

/**
 * `{{ expr }}` templates inside any JSON value. A string that is exactly one
 * template yields the expression's raw value (an object stays an object);
 * otherwise each template is interpolated as text.
 */

/** A template string cut into literal text and `{{ }}` expression sources. */
export type Segment = { readonly text: string } | { readonly expr: string }

/**
 * One forward pass: find "{{", then the next "}}", continue after it. Never
 * rescans (a lazy regex over "{{{{{{…" backtracks to the end from every
 * position: 80 KB took seconds on the event loop). Same cuts as
 * `/\{\{([\s\S]*?)\}\}/g`; an unclosed "{{" is text. After `maxExpressions`
 * expressions the rest is returned as one text segment.
 */
export const scan = (source: string, maxExpressions = Number.POSITIVE_INFINITY): Array<Segment> => {
  const out: Array<Segment> = []
  let pos = 0
  let expressions = 0
  while (pos < source.length && expressions < maxExpressions) {
    const open = source.indexOf("{{", pos)
    if (open < 0) break
    const close = source.indexOf("}}", open + 2)
    if (close < 0) break
    if (open > pos) out.push({ text: source.slice(pos, open) })
    out.push({ expr: source.slice(open + 2, close) })
    expressions++
    pos = close + 2
  }
  if (pos < source.length) out.push({ text: source.slice(pos) })
  return out
}

const cache = new Map<string, Either.Either<Expression.Expr, string>>()

export const parseCached = (source: string) => {
  let parsed = cache.get(source)
  if (parsed === undefined) {
    parsed = Expression.parse(source.trim())
    if (cache.size > 10_000) cache.clear()
    // Only short sources are kept: the cache must not pin megabytes of rejected input.
    if (source.length <= Expression.MAX_EXPRESSION_CHARS) cache.set(source, parsed)
  }
  return parsed
}

/** Every expression inside a JSON value's strings (the first `limit` of them). */
export const expressionsIn = (value: unknown, limit = Number.POSITIVE_INFINITY): Array<string> => {
  const out: Array<string> = []
  const walk = (v: unknown) => {
    if (out.length >= limit) return
    if (typeof v === "string") {
      if (!v.includes("{{")) return
      for (const s of scan(v, limit - out.length)) {
        if ("expr" in s) out.push(s.expr.trim())
        if (out.length >= limit) return
      }
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk)
  }
  walk(value)
  return out
}

const toText = (v: unknown) => typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v)

/** An expression that cannot be evaluated at run time (too long, too deep, or a value nested too deeply). */
export class TemplateFailure extends Error {}

const evalSource = (source: string, scope: Readonly<Record<string, unknown>>) =>
  Either.match(parseCached(source), {
    // Validation rejects these up front; a definition stored before a limit existed fails here instead.
    onLeft: (message) => {
      throw new TemplateFailure(`invalid expression: ${message}`)
    },
    onRight: (e) => Expression.evaluate(e, scope)
  })

/**
 * Renders templates in a JSON value (objects and arrays recursively).
 * Throws `TemplateFailure` for an expression it cannot evaluate.
 */
export const render = (value: unknown, scope: Readonly<Record<string, unknown>>): unknown =>
  bounded(() => renderValue(value, scope))

/** A stack overflow (a value or template nested thousands deep) becomes a failure of the step, not a crash. */
const bounded = <A>(f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (e instanceof RangeError) throw new TemplateFailure("a value is nested too deeply to evaluate")
    throw e
  }
}

const renderValue = (value: unknown, scope: Readonly<Record<string, unknown>>): unknown => {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value
    const segments = scan(value)
    const [first] = segments
    if (segments.length === 1 && "expr" in first) return evalSource(first.expr, scope) ?? null
    return segments.map((s) => "text" in s ? s.text : toText(evalSource(s.expr, scope))).join("")
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, scope)]))
  }
  return value
}

export const renderString = (value: string, scope: Readonly<Record<string, unknown>>): string =>
  bounded(() => toText(renderValue(value, scope)))

/** Evaluates a bare expression (conditions, loop bounds). Throws `TemplateFailure` like `render`. */
export const evaluate = (source: string, scope: Readonly<Record<string, unknown>>): unknown =>
  bounded(() => evalSource(source, scope))
