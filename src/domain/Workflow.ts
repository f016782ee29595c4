import { Schema } from "effect"

export const RunStatus = Schema.Literal("pending", "running", "waiting", "completed", "failed", "cancelled")
export type RunStatus = typeof RunStatus.Type
export const TERMINAL: ReadonlyArray<RunStatus> = ["completed", "failed", "cancelled"]

export class WorkflowRecord extends Schema.Class<WorkflowRecord>("WorkflowRecord")({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  description: Schema.String,
  version: Schema.Int,
  definition: Schema.Unknown,
  scheduleCron: Schema.NullOr(Schema.String),
  createdBy: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

export class RunRecord extends Schema.Class<RunRecord>("WorkflowRunRecord")({
  id: Schema.String,
  workflowId: Schema.NullOr(Schema.String),
  projectId: Schema.String,
  workflowVersion: Schema.Int,
  status: RunStatus,
  trigger: Schema.String,
  input: Schema.Unknown,
  output: Schema.Unknown,
  stepResults: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  error: Schema.NullOr(Schema.String),
  parentRunId: Schema.NullOr(Schema.String),
  depth: Schema.Int,
  cancelRequested: Schema.Boolean,
  startedAt: Schema.Date,
  completedAt: Schema.NullOr(Schema.Date),
  updatedAt: Schema.Date
}) {}
