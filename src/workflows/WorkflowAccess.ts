import { Effect, Option } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ensureQuota } from "../auth/ProjectQuotas.ts"
import { NotFound } from "../kernel/WireErrors.ts"
import type { RunRecord, WorkflowRecord } from "../domain/Workflow.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowDefinitions } from "./WorkflowDefinitions.ts"
import { WorkflowRuns } from "./WorkflowRuns.ts"

/** Workflow reads and commands shared by REST `/workflows` and RPC `workflows.*`: one set of checks. */
export const orNotFound = <A>(what: string) => (o: Option.Option<A>) =>
  Option.match(o, { onNone: () => Effect.fail(new NotFound({ message: `${what} not found` })), onSome: Effect.succeed })

/** A workflow the caller can see (any role); others' answer NotFound. */
export const visibleWorkflow = (id: string) =>
  Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const ids = yield* visibleProjectIds
    return yield* Effect.flatMap(repo.findWorkflow(id, ids), orNotFound<WorkflowRecord>("workflow"))
  })

export const visibleRun = (runId: string) =>
  Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const ids = yield* visibleProjectIds
    return yield* Effect.flatMap(repo.findRunScoped(runId, ids), orNotFound<RunRecord>("run"))
  })

/** Starts a run of a stored workflow (developer role), pinned to `version` or the latest. */
export const executeStored = (
  workflow: WorkflowRecord,
  o: { input?: unknown; version?: number | undefined; idempotencyKey?: string | undefined },
  trigger: "api" | "orchestrator"
) =>
  Effect.gen(function*() {
    yield* requireProjectRole(workflow.projectId, "developer", "workflow")
    const repo = yield* WorkflowRepo
    const runs = yield* WorkflowRuns
    const user = yield* CurrentUser
    const version = o.version ?? workflow.version
    const definition = version === workflow.version
      ? workflow.definition
      : yield* Effect.flatMap(repo.findVersion(workflow.id, version), orNotFound(`version ${version} of workflow ${workflow.id}`))
    const { run } = yield* runs.start({
      projectId: workflow.projectId,
      workflowId: workflow.id,
      version,
      definition,
      input: o.input ?? {},
      trigger,
      idempotencyKey: o.idempotencyKey ?? null,
      createdBy: user.userId
    })
    return run
  })

export const cancelRun = (runId: string) =>
  Effect.gen(function*() {
    const run = yield* visibleRun(runId)
    yield* requireProjectRole(run.projectId, "developer", "run")
    const runs = yield* WorkflowRuns
    const repo = yield* WorkflowRepo
    yield* runs.cancel(run)
    return yield* Effect.flatMap(repo.findRun(run.id), orNotFound<RunRecord>("run"))
  })

export const signalRun = (runId: string, signal: { stepId?: string | undefined; approved: boolean; comment?: string | undefined; data?: unknown }) =>
  Effect.gen(function*() {
    const run = yield* visibleRun(runId)
    yield* requireProjectRole(run.projectId, "developer", "run")
    const runs = yield* WorkflowRuns
    const user = yield* CurrentUser
    const { key } = yield* runs.signal(run, signal.stepId, {
      approved: signal.approved,
      by: user.email,
      ...(signal.comment !== undefined && { comment: signal.comment }),
      ...(signal.data !== undefined && { data: signal.data })
    })
    return { runId: run.id, key, approved: signal.approved }
  })

export const createWorkflow = (payload: { projectId: string; name: string; description?: string | undefined; definition: unknown }) =>
  Effect.gen(function*() {
    yield* requireProjectRole(payload.projectId, "developer")
    yield* ensureQuota("workflowsPerProject", payload.projectId)
    const user = yield* CurrentUser
    const definitions = yield* WorkflowDefinitions
    const repo = yield* WorkflowRepo
    const { definition } = yield* definitions.check(payload.projectId, payload.definition, null)
    return yield* repo.createWorkflow({
      id: `wf_${crypto.randomUUID().replaceAll("-", "")}`,
      projectId: payload.projectId,
      name: payload.name,
      description: payload.description ?? "",
      definition,
      scheduleCron: definition.schedule?.cron ?? null,
      createdBy: user.userId
    })
  })
