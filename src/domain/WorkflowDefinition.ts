import { Schema } from "effect"

/**
 * The workflow definition DSL (JSON). A definition is a list of steps run in
 * order; `dependsOn` turns a list into a DAG (a step without it waits for the
 * step before it, `dependsOn: []` starts at once). Values flow through
 * `{{ expression }}` templates over `input`, `steps.<id>.output`, `vars`,
 * `loop.index` / `loop.item` and `run.id`.
 *
 * Validation (Validation.ts) decodes each step on its own against the schema
 * of its `type`, so one request reports every problem at once.
 */
export const StepId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
    message: () => "a step id is a letter or _ followed by up to 63 letters, digits or _"
  })
)

export const RetryPolicy = Schema.Struct({
  /** Total attempts, the first included. */
  maxAttempts: Schema.Int.pipe(Schema.between(1, 10)),
  initialDelayMs: Schema.optional(Schema.Int.pipe(Schema.between(0, 60_000))),
  backoffFactor: Schema.optional(Schema.Number.pipe(Schema.between(1, 10)))
})
export type RetryPolicy = typeof RetryPolicy.Type

const common = {
  id: StepId,
  name: Schema.optional(Schema.String),
  dependsOn: Schema.optional(Schema.Array(StepId)),
  retry: Schema.optional(RetryPolicy),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 3_600_000)))
}

const Template = Schema.Unknown

const agentFields = { type: Schema.Literal("agent"), agentId: Schema.String, input: Template }
const toolFields = { type: Schema.Literal("tool"), tool: Schema.String, arguments: Schema.optional(Template) }
const ragFields = {
  type: Schema.Literal("rag"),
  query: Schema.String,
  topK: Schema.optional(Schema.Int.pipe(Schema.between(1, 100)))
}
const sqlFields = {
  type: Schema.Literal("sql"),
  connectionId: Schema.String,
  query: Schema.String,
  params: Schema.optional(Schema.Array(Template))
}
export const HttpMethod = Schema.Literal("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
const httpFields = {
  type: Schema.Literal("http"),
  url: Schema.String,
  method: Schema.optional(HttpMethod),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  body: Schema.optional(Template)
}

/** What a compensation runs: an action without id or retry of its own. */
export const CompensationAction = Schema.Union(
  Schema.Struct(agentFields),
  Schema.Struct(toolFields),
  Schema.Struct(sqlFields),
  Schema.Struct(httpFields)
)
export type CompensationAction = typeof CompensationAction.Type

const compensate = { compensate: Schema.optional(CompensationAction) }

export const AgentStep = Schema.Struct({ ...common, ...agentFields, ...compensate })
export const ToolStep = Schema.Struct({ ...common, ...toolFields, ...compensate })
export const RagStep = Schema.Struct({ ...common, ...ragFields })
export const SqlStep = Schema.Struct({ ...common, ...sqlFields, ...compensate })
export const HttpStep = Schema.Struct({ ...common, ...httpFields, ...compensate })
export const SetStep = Schema.Struct({
  ...common,
  type: Schema.Literal("set"),
  values: Schema.Record({ key: Schema.String, value: Template })
})
export const WaitStep = Schema.Struct({
  ...common,
  type: Schema.Literal("wait"),
  durationMs: Schema.Int.pipe(Schema.between(0, 30 * 24 * 3_600_000))
})
export const ApprovalStep = Schema.Struct({
  ...common,
  type: Schema.Literal("approval"),
  message: Schema.optional(Schema.String),
  /** "fail" (default): a rejection fails the run; "continue": the output says approved=false. */
  onReject: Schema.optional(Schema.Literal("fail", "continue"))
})
export const SubworkflowStep = Schema.Struct({
  ...common,
  type: Schema.Literal("subworkflow"),
  workflowId: Schema.String,
  version: Schema.optional(Schema.Int.pipe(Schema.positive())),
  input: Schema.optional(Template)
})

/** Control steps hold nested step lists, which Validation decodes one by one. */
export const ConditionStep = Schema.Struct({
  ...common,
  type: Schema.Literal("condition"),
  if: Schema.String,
  then: Schema.Array(Schema.Unknown),
  else: Schema.optional(Schema.Array(Schema.Unknown))
})
export const ParallelStep = Schema.Struct({
  ...common,
  type: Schema.Literal("parallel"),
  branches: Schema.Array(Schema.Array(Schema.Unknown)).pipe(Schema.minItems(1), Schema.maxItems(64))
})
export const LoopStep = Schema.Struct({
  ...common,
  type: Schema.Literal("loop"),
  maxIterations: Schema.Int.pipe(Schema.between(1, 1000)),
  while: Schema.optional(Schema.String),
  forEach: Schema.optional(Schema.String),
  steps: Schema.Array(Schema.Unknown)
})

export const stepSchemas = {
  agent: AgentStep,
  tool: ToolStep,
  rag: RagStep,
  sql: SqlStep,
  http: HttpStep,
  set: SetStep,
  wait: WaitStep,
  approval: ApprovalStep,
  subworkflow: SubworkflowStep,
  condition: ConditionStep,
  parallel: ParallelStep,
  loop: LoopStep
} as const
export type StepType = keyof typeof stepSchemas
export const STEP_TYPES = Object.keys(stepSchemas) as ReadonlyArray<StepType>

type Base<S extends Schema.Schema.Any> = Omit<S["Type"], "then" | "else" | "branches" | "steps">

/** A validated step, nested lists included. */
export type Step =
  | typeof AgentStep.Type
  | typeof ToolStep.Type
  | typeof RagStep.Type
  | typeof SqlStep.Type
  | typeof HttpStep.Type
  | typeof SetStep.Type
  | typeof WaitStep.Type
  | typeof ApprovalStep.Type
  | typeof SubworkflowStep.Type
  | (Base<typeof ConditionStep> & { readonly then: ReadonlyArray<Step>; readonly else?: ReadonlyArray<Step> })
  | (Base<typeof ParallelStep> & { readonly branches: ReadonlyArray<ReadonlyArray<Step>> })
  | (Base<typeof LoopStep> & { readonly steps: ReadonlyArray<Step> })

export type ActionStep = Extract<Step, { type: "agent" | "tool" | "rag" | "sql" | "http" }>

export const Schedule = Schema.Struct({
  /** Cron, 5 fields or 6 with seconds first; UTC. */
  cron: Schema.String,
  input: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

/** The definition as it arrives: steps are checked individually by Validation. */
export const DefinitionInput = Schema.Struct({
  steps: Schema.Array(Schema.Unknown),
  output: Schema.optional(Schema.Unknown),
  schedule: Schema.optional(Schema.Unknown)
})

export interface Definition {
  readonly steps: ReadonlyArray<Step>
  readonly output?: unknown
  readonly schedule?: typeof Schedule.Type
}
