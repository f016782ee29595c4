import { Cron, Either, ParseResult, Schema } from "effect"
import {
  type Definition,
  DefinitionInput,
  Schedule,
  type Step,
  STEP_TYPES,
  stepSchemas,
  type StepType
} from "../domain/WorkflowDefinition.ts"
import * as Expression from "./Expression.ts"
import { expressionsIn, parseCached } from "./Template.ts"

export interface Problem {
  readonly path: string
  readonly message: string
}

/** A validated definition plus what the caller must still check against the database. */
export interface Validated {
  readonly definition: Definition
  readonly subworkflows: ReadonlyArray<{ readonly path: string; readonly workflowId: string }>
}

const formatIssues = (prefix: string, error: ParseResult.ParseError): Array<Problem> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== "").join("."),
    message: withoutTypeDump(i.message)
  }))

/**
 * Effect spells a struct it expected out in full (`Expected { readonly steps: ReadonlyArray<…>;
 * … }, actual undefined`): the path already says where, so the message says "an object".
 */
const withoutTypeDump = (message: string) => message.replace(/^Expected \{[\s\S]*\}, actual/, "Expected an object, actual")

/** Fields whose strings are templates, per step type; `expressions` are bare expressions. */
const templateFields = (step: Record<string, unknown>): { templates: Array<unknown>; expressions: Array<string> } => {
  switch (step.type as StepType) {
    case "agent": return { templates: [step.input], expressions: [] }
    case "tool": return { templates: [step.arguments], expressions: [] }
    case "rag": return { templates: [step.query], expressions: [] }
    case "sql": return { templates: [step.params], expressions: [] }
    case "http": return { templates: [step.url, step.headers, step.body], expressions: [] }
    case "set": return { templates: [step.values], expressions: [] }
    case "approval": return { templates: [step.message], expressions: [] }
    case "subworkflow": return { templates: [step.input], expressions: [] }
    case "condition": return { templates: [], expressions: [step.if as string] }
    case "loop":
      return { templates: [], expressions: [step.while, step.forEach].filter((e): e is string => typeof e === "string") }
    case "wait":
    case "parallel":
      return { templates: [], expressions: [] }
  }
}

/** The nested step lists of a control step, with their path suffixes. */
export const childLists = (step: Step): Array<{ suffix: string; steps: ReadonlyArray<Step> }> => {
  switch (step.type) {
    case "condition":
      return [{ suffix: "then", steps: step.then }, { suffix: "else", steps: step.else ?? [] }]
    case "parallel":
      return step.branches.map((b, i) => ({ suffix: `branches[${i}]`, steps: b }))
    case "loop":
      return [{ suffix: "steps", steps: step.steps }]
    default:
      return []
  }
}

/** Step ids a step (and everything nested in it) reads through expressions. */
const stepRefs = (step: Step): Set<string> => {
  const out = new Set<string>()
  const visit = (s: Step) => {
    const { expressions, templates } = templateFields(s as unknown as Record<string, unknown>)
    const compensation = "compensate" in s && s.compensate ? templateFields(s.compensate).templates : []
    for (const src of [...expressions, ...expressionsIn([...templates, ...compensation])]) {
      const parsed = parseCached(src)
      if (Either.isRight(parsed)) Expression.references(parsed.right).steps.forEach((id) => out.add(id))
    }
    childLists(s).forEach((l) => l.steps.forEach(visit))
  }
  visit(step)
  return out
}

const descendantIds = (step: Step): Set<string> => {
  const out = new Set<string>()
  const visit = (s: Step) => {
    out.add(s.id)
    childLists(s).forEach((l) => l.steps.forEach(visit))
  }
  visit(step)
  return out
}

/**
 * What each step of one list waits for: its `dependsOn` (or the step before
 * it), plus any sibling whose output it (or a step nested in it) reads.
 * Shared by validation (cycle check) and the interpreter (scheduling).
 */
export const listDependencies = (steps: ReadonlyArray<Step>): Map<string, Set<string>> => {
  const ids = new Set(steps.map((s) => s.id))
  const deps = new Map<string, Set<string>>()
  steps.forEach((s, i) => {
    const own = descendantIds(s)
    const d = new Set<string>(s.dependsOn ?? (i > 0 ? [steps[i - 1].id] : []))
    for (const ref of stepRefs(s)) if (ids.has(ref) && !own.has(ref)) d.add(ref)
    deps.set(s.id, d)
  })
  return deps
}

const findCycle = (deps: Map<string, Set<string>>): Array<string> | undefined => {
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const visit = (id: string): Array<string> | undefined => {
    if (state.get(id) === "done") return undefined
    if (state.get(id) === "visiting") return [...stack.slice(stack.indexOf(id)), id]
    state.set(id, "visiting")
    stack.push(id)
    for (const d of deps.get(id) ?? []) {
      if (!deps.has(d)) continue
      const cycle = visit(d)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(id, "done")
    return undefined
  }
  for (const id of deps.keys()) {
    const cycle = visit(id)
    if (cycle) return cycle
  }
  return undefined
}

/**
 * Size of one definition. Validation and every replay of a run walk it on the
 * event loop (20,000 steps took 21 s to validate, a million `{{ }}` 2.4 s).
 */
export const MAX_STEPS = 1000
export const MAX_EXPRESSIONS = 10_000

/** Validates a definition, reporting every problem found (not just the first). */
export const validate = (raw: unknown): Either.Either<Validated, ReadonlyArray<Problem>> => {
  try {
    return validateUnbounded(raw)
  } catch (e) {
    // The walks recurse per level of the JSON: thousands of nested arrays overflow the stack.
    if (e instanceof RangeError) return Either.left([{ path: "", message: "the definition is nested too deeply" }])
    throw e
  }
}

const validateUnbounded = (raw: unknown): Either.Either<Validated, ReadonlyArray<Problem>> => {
  const top = Schema.decodeUnknownEither(DefinitionInput)(raw)
  if (Either.isLeft(top)) return Either.left(formatIssues("", top.left))
  const problems: Array<Problem> = []
  let stepCount = 0
  let expressionCount = 0
  let oversized = false
  const overLimit = (path: string, message: string) => {
    if (!oversized) problems.push({ path, message })
    oversized = true
  }
  const seen = new Map<string, string>()
  const subworkflows: Array<{ path: string; workflowId: string }> = []
  const referenced: Array<{ path: string; id: string; self: string }> = []

  const checkExpression = (path: string, src: string, inLoop: boolean, selfId: string) => {
    if (++expressionCount > MAX_EXPRESSIONS) return overLimit(path, `a definition holds at most ${MAX_EXPRESSIONS} expressions`)
    const parsed = parseCached(src)
    if (Either.isLeft(parsed)) {
      // Messages stay short: the source may be kilobytes long.
      const shown = src.length > 60 ? `${src.slice(0, 60)}…` : src
      problems.push({ path, message: `invalid expression '${shown}': ${parsed.left}` })
      return
    }
    const refs = Expression.references(parsed.right)
    for (const root of refs.roots) {
      if (!(Expression.ROOTS as ReadonlyArray<string>).includes(root)) {
        problems.push({ path, message: `unknown variable '${root}' in '${src}' (use ${Expression.ROOTS.join(", ")})` })
      } else if (root === "loop" && !inLoop) {
        problems.push({ path, message: `'loop' is only defined inside a loop step ('${src}')` })
      }
    }
    refs.steps.forEach((id) => referenced.push({ path, id, self: selfId }))
  }

  const decodeList = (items: ReadonlyArray<unknown>, path: string, inLoop: boolean): Array<Step> => {
    const out: Array<Step> = []
    items.forEach((item, i) => {
      if (oversized) return
      if (++stepCount > MAX_STEPS) return overLimit(`${path}[${i}]`, `a definition holds at most ${MAX_STEPS} steps`)
      const at = `${path}[${i}]`
      const type = typeof item === "object" && item !== null ? (item as Record<string, unknown>).type : undefined
      if (typeof type !== "string" || !(STEP_TYPES as ReadonlyArray<string>).includes(type)) {
        problems.push({
          path: `${at}.type`,
          message: `unknown step type ${JSON.stringify(type ?? null)} (expected one of ${STEP_TYPES.join(", ")})`
        })
        return
      }
      const decoded = Schema.decodeUnknownEither(stepSchemas[type as StepType] as Schema.Schema<any, any>)(item)
      if (Either.isLeft(decoded)) {
        problems.push(...formatIssues(at, decoded.left))
        return
      }
      const step = decoded.right as Record<string, unknown> & { id: string }
      if (seen.has(step.id)) problems.push({ path: `${at}.id`, message: `duplicate step id '${step.id}' (also at ${seen.get(step.id)})` })
      else seen.set(step.id, at)
      const { expressions, templates } = templateFields(step)
      const compensation = step.compensate ? templateFields(step.compensate as Record<string, unknown>).templates : []
      const nestedLoop = inLoop || type === "loop"
      for (const src of expressions) checkExpression(at, src, nestedLoop, step.id)
      for (const src of expressionsIn(templates, MAX_EXPRESSIONS + 1)) checkExpression(at, src, inLoop, step.id)
      // A compensation runs after its step succeeded: it may read the step's own output.
      for (const src of expressionsIn(compensation, MAX_EXPRESSIONS + 1)) checkExpression(`${at}.compensate`, src, inLoop, "")
      if (type === "loop" && (step.while === undefined) === (step.forEach === undefined)) {
        problems.push({ path: at, message: "a loop needs exactly one of 'while' or 'forEach'" })
      }
      if (type === "subworkflow") subworkflows.push({ path: at, workflowId: step.workflowId as string })
      let full: Record<string, unknown> = step
      if (type === "condition") {
        full = { ...step, then: decodeList(step.then as Array<unknown>, `${at}.then`, inLoop), else: decodeList((step.else as Array<unknown> | undefined) ?? [], `${at}.else`, inLoop) }
      } else if (type === "parallel") {
        full = { ...step, branches: (step.branches as Array<Array<unknown>>).map((b, j) => decodeList(b, `${at}.branches[${j}]`, inLoop)) }
      } else if (type === "loop") {
        full = { ...step, steps: decodeList(step.steps as Array<unknown>, `${at}.steps`, true) }
      }
      out.push(full as unknown as Step)
    })
    return out
  }

  const steps = decodeList(top.right.steps, "steps", false)
  if (top.right.steps.length === 0) problems.push({ path: "steps", message: "a workflow needs at least one step" })
  for (const src of expressionsIn(top.right.output, MAX_EXPRESSIONS + 1)) checkExpression("output", src, false, "")
  // Over a size limit, the whole-definition checks below are what would take long: stop here.
  if (oversized) return Either.left(problems)

  for (const r of referenced) {
    if (!seen.has(r.id)) problems.push({ path: r.path, message: `references unknown step '${r.id}'` })
  }

  // dependsOn must name a sibling; then every list must be acyclic.
  const checkLists = (list: ReadonlyArray<Step>, path: string) => {
    const siblings = new Set(list.map((s) => s.id))
    list.forEach((s, i) => {
      for (const d of s.dependsOn ?? []) {
        if (d === s.id) problems.push({ path: `${path}[${i}].dependsOn`, message: `step '${s.id}' depends on itself` })
        else if (!siblings.has(d)) {
          problems.push({
            path: `${path}[${i}].dependsOn`,
            message: seen.has(d) ? `'${d}' is not in the same step list as '${s.id}'` : `depends on unknown step '${d}'`
          })
        }
      }
      childLists(s).forEach((c) => checkLists(c.steps, `${path}[${i}].${c.suffix}`))
    })
    const cycle = findCycle(listDependencies(list))
    if (cycle) problems.push({ path, message: `dependency cycle: ${cycle.join(" -> ")}` })
  }
  checkLists(steps, "steps")
  for (const r of referenced) {
    const step = r.id === r.self ? findStep(steps, r.self) : undefined
    if (step && childLists(step).length === 0) {
      problems.push({ path: r.path, message: `step '${r.id}' references its own output` })
    }
  }

  let schedule: typeof Schedule.Type | undefined
  if (top.right.schedule !== undefined) {
    const decoded = Schema.decodeUnknownEither(Schedule)(top.right.schedule)
    if (Either.isLeft(decoded)) problems.push(...formatIssues("schedule", decoded.left))
    else {
      const cron = Cron.parse(decoded.right.cron)
      if (Either.isLeft(cron)) problems.push({ path: "schedule.cron", message: `invalid cron expression: ${cron.left.message}` })
      else schedule = decoded.right
    }
  }

  if (problems.length > 0) return Either.left(problems)
  return Either.right({
    definition: { steps, ...(top.right.output !== undefined && { output: top.right.output }), ...(schedule && { schedule }) },
    subworkflows
  })
}

export const findStep = (steps: ReadonlyArray<Step>, id: string): Step | undefined => {
  for (const s of steps) {
    if (s.id === id) return s
    for (const c of childLists(s)) {
      const found = findStep(c.steps, id)
      if (found) return found
    }
  }
  return undefined
}
