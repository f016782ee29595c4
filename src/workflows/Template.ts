import { Either } from "effect"
import * as Expression from "./Expression.ts"

/**
 * `{{ expr }}` templates inside any JSON value. A string that is exactly one
 * template yields the expression's raw value (an object stays an object);
 * otherwise each template is interpolated as text.
 */
const TEMPLATE = /\{\{([\s\S]*?)\}\}/g
const WHOLE = /^\{\{([\s\S]*?)\}\}$/

const cache = new Map<string, Either.Either<Expression.Expr, string>>()

export const parseCached = (source: string) => {
  let parsed = cache.get(source)
  if (parsed === undefined) {
    parsed = Expression.parse(source.trim())
    if (cache.size > 10_000) cache.clear()
    cache.set(source, parsed)
  }
  return parsed
}

/** Every expression inside a JSON value's strings. */
export const expressionsIn = (value: unknown): Array<string> => {
  const out: Array<string> = []
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      for (const m of v.matchAll(TEMPLATE)) out.push(m[1].trim())
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk)
  }
  walk(value)
  return out
}

const toText = (v: unknown) => typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v)

const evalSource = (source: string, scope: Readonly<Record<string, unknown>>) =>
  Either.match(parseCached(source), {
    // Validation rejects unparsable templates up front; at run time they render as nothing.
    onLeft: () => undefined,
    onRight: (e) => Expression.evaluate(e, scope)
  })

/** Renders templates in a JSON value (objects and arrays recursively). */
export const render = (value: unknown, scope: Readonly<Record<string, unknown>>): unknown => {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value)
    if (whole !== null && !whole[1].includes("{{")) return evalSource(whole[1], scope) ?? null
    return value.replace(TEMPLATE, (_, src: string) => toText(evalSource(src, scope)))
  }
  if (Array.isArray(value)) return value.map((v) => render(v, scope))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, scope)]))
  }
  return value
}

export const renderString = (value: string, scope: Readonly<Record<string, unknown>>): string =>
  toText(render(value, scope))

/** Evaluates a bare expression (conditions, loop bounds). */
export const evaluate = (source: string, scope: Readonly<Record<string, unknown>>): unknown => evalSource(source, scope)
