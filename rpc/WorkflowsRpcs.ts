import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { RunRecord, WorkflowRecord } from "../src/domain/Workflow.ts"
import { BadRequest, Conflict, Forbidden, NotFound, TooManyRequests } from "../src/kernel/WireErrors.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
const Input = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * Workflows and their durable runs (the same operations and checks as REST
 * `/workflows`). A definition is validated like a REST one (steps, optional
 * `output` template and `schedule`): an invalid one is BadRequest with its issues.
 */
export class WorkflowsRpcs extends RpcGroup.make(
  Rpc.make("list", { payload: { projectId: Schema.optional(Id) }, success: Schema.Array(WorkflowRecord) }),
  Rpc.make("get", { payload: { id: Id }, success: WorkflowRecord, error: NotFound }),
  Rpc.make("create", {
    payload: {
      projectId: Id,
      name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
      description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
      definition: Schema.Unknown
    },
    success: WorkflowRecord,
    error: Schema.Union(BadRequest, NotFound, Forbidden, Conflict)
  }),
  /** Starts a run of a stored workflow (latest version unless `version`); answers once the run is recorded. */
  Rpc.make("run", {
    payload: {
      id: Id,
      input: Schema.optional(Input),
      version: Schema.optional(Schema.Int.pipe(Schema.positive())),
      idempotencyKey: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)))
    },
    success: RunRecord,
    error: Schema.Union(NotFound, Forbidden, TooManyRequests)
  }),
  Rpc.make("getRun", { payload: { runId: Id }, success: RunRecord, error: NotFound }),
  Rpc.make("listRuns", {
    payload: Schema.Struct({ id: Id, limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 200)), { default: () => 50 }) }),
    success: Schema.Array(RunRecord),
    error: NotFound
  }),
  /** Answers a waiting approval step (`stepId` may be left out when exactly one waits). */
  Rpc.make("approve", {
    payload: Schema.Struct({
      runId: Id,
      stepId: Schema.optional(Id),
      approved: Schema.optionalWith(Schema.Boolean, { default: () => true }),
      comment: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
    }),
    success: Schema.Struct({ runId: Schema.String, key: Schema.String, approved: Schema.Boolean }),
    error: Schema.Union(NotFound, Forbidden, Conflict, BadRequest)
  }),
  Rpc.make("cancel", { payload: { runId: Id }, success: RunRecord, error: Schema.Union(NotFound, Forbidden, Conflict) })
).prefix("workflows.").middleware(RpcAuthentication) {}
