import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, NotFound, TooManyRequests } from "../../kernel/WireErrors.ts"
import { RunRecord, WorkflowRecord } from "../Workflow.ts"

const Name = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "name must not be blank" }),
  Schema.maxLength(200)
)
const IdPath = Schema.Struct({ id: Schema.String })
const RunPath = Schema.Struct({ runId: Schema.String })
const Input = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const IdempotencyKey = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

export const CreateWorkflowRequest = Schema.Struct({
  projectId: Schema.String,
  name: Name,
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  /** Steps, optional `output` template and `schedule` (cron): see src/workflows/Definition.ts. */
  definition: Schema.Unknown
})

export const UpdateWorkflowRequest = Schema.Struct({
  name: Schema.optional(Name),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  definition: Schema.Unknown
})

export const ExecuteRequest = Schema.Struct({
  input: Schema.optional(Input),
  /** Run an earlier version; the latest by default. */
  version: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** The same key in the same project starts one run (retries of the request are safe). */
  idempotencyKey: Schema.optional(IdempotencyKey)
})

/** The orchestrator's entry point: a stored workflow by id, or an inline definition. */
export const OrchestratorExecuteRequest = Schema.Struct({
  workflowId: Schema.optional(Schema.String),
  projectId: Schema.optional(Schema.String),
  definition: Schema.optional(Schema.Unknown),
  input: Schema.optional(Input),
  version: Schema.optional(Schema.Int.pipe(Schema.positive())),
  idempotencyKey: Schema.optional(IdempotencyKey)
})

export const SignalRequest = Schema.Struct({
  /** The approval step; may be left out when exactly one approval is waiting. */
  stepId: Schema.optional(Schema.String),
  approved: Schema.Boolean,
  comment: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  data: Schema.optional(Schema.Unknown)
})

export const SignalAccepted = Schema.Struct({ runId: Schema.String, key: Schema.String, approved: Schema.Boolean })

export const ListRunsParams = Schema.Struct({
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200)))
})
export const ListWorkflowsParams = Schema.Struct({ projectId: Schema.optional(Schema.String) })

/**
 * Workflow definitions (versioned: each PUT appends a version, runs pin
 * theirs) and their durable runs: execute, status, cancel, approval signals.
 */
export class WorkflowsApi extends HttpApiGroup.make("workflows")
  .add(HttpApiEndpoint.get("listWorkflows", "/workflows").setUrlParams(ListWorkflowsParams).addSuccess(Schema.Array(WorkflowRecord)))
  .add(
    HttpApiEndpoint.post("createWorkflow", "/workflows")
      .setPayload(CreateWorkflowRequest)
      .addSuccess(WorkflowRecord, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("executeAny", "/workflows/execute")
      .setPayload(OrchestratorExecuteRequest)
      .addSuccess(RunRecord, { status: 202 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(TooManyRequests)
  )
  .add(HttpApiEndpoint.get("getRun", "/workflows/runs/:runId").setPath(RunPath).addSuccess(RunRecord).addError(NotFound))
  .add(
    HttpApiEndpoint.post("cancelRun", "/workflows/runs/:runId/cancel")
      .setPath(RunPath)
      .addSuccess(RunRecord)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("signalRun", "/workflows/runs/:runId/signal")
      .setPath(RunPath)
      .setPayload(SignalRequest)
      .addSuccess(SignalAccepted, { status: 202 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
      .addError(BadRequest)
  )
  .add(HttpApiEndpoint.get("getWorkflow", "/workflows/:id").setPath(IdPath).addSuccess(WorkflowRecord).addError(NotFound))
  .add(
    HttpApiEndpoint.put("updateWorkflow", "/workflows/:id")
      .setPath(IdPath)
      .setPayload(UpdateWorkflowRequest)
      .addSuccess(WorkflowRecord)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    /** Removes the workflow and its schedule; runs still in flight are cancelled, finished runs stay readable. */
    HttpApiEndpoint.del("deleteWorkflow", "/workflows/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("executeWorkflow", "/workflows/:id/execute")
      .setPath(IdPath)
      .setPayload(ExecuteRequest)
      .addSuccess(RunRecord, { status: 202 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(TooManyRequests)
  )
  .add(HttpApiEndpoint.get("workflowStatus", "/workflows/:id/status").setPath(IdPath).addSuccess(RunRecord).addError(NotFound))
  .add(
    HttpApiEndpoint.get("listRuns", "/workflows/:id/runs")
      .setPath(IdPath)
      .setUrlParams(ListRunsParams)
      .addSuccess(Schema.Array(RunRecord))
      .addError(NotFound)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Durable workflows: versioned definitions, runs, approvals, cancellation")
{}
