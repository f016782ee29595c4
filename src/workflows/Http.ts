import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { BadRequest, NotFound } from "../kernel/WireErrors.ts"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { WorkflowDefinitions } from "./WorkflowDefinitions.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowRuns } from "./WorkflowRuns.ts"
import { cancelRun, createWorkflow, executeStored, signalRun, visibleRun, visibleWorkflow } from "./WorkflowAccess.ts"

export const WorkflowsHttpLive = HttpApiBuilder.group(PlatformApi, "workflows", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const runs = yield* WorkflowRuns
    const definitions = yield* WorkflowDefinitions

    return handlers
      .handle("listWorkflows", ({ urlParams }) =>
        Effect.flatMap(visibleProjectIds, (ids) =>
          repo.listWorkflows(urlParams.projectId === undefined ? ids : ids.filter((id) => id === urlParams.projectId))))
      .handle("createWorkflow", ({ payload }) => createWorkflow(payload))
      .handle("getWorkflow", ({ path }) => visibleWorkflow(path.id))
      .handle("updateWorkflow", ({ path, payload }) =>
        Effect.gen(function*() {
          const workflow = yield* visibleWorkflow(path.id)
          yield* requireProjectRole(workflow.projectId, "developer", "workflow")
          const user = yield* CurrentUser
          const { definition } = yield* definitions.check(workflow.projectId, payload.definition, workflow.id)
          return yield* repo.updateWorkflow(workflow.id, {
            name: payload.name,
            description: payload.description,
            definition,
            scheduleCron: definition.schedule?.cron ?? null,
            createdBy: user.userId
          })
        }))
      .handle("deleteWorkflow", ({ path }) =>
        Effect.gen(function*() {
          const workflow = yield* visibleWorkflow(path.id)
          yield* requireProjectRole(workflow.projectId, "developer", "workflow")
          const { live } = yield* repo.deleteWorkflow(workflow.id, workflow.projectId)
          // A deleted workflow's runs do not go on in the background: each is cancelled like POST .../cancel.
          yield* Effect.forEach(live, (run) => Effect.ignore(runs.cancel(run)), { discard: true })
        }))
      .handle("executeWorkflow", ({ path, payload }) =>
        Effect.flatMap(visibleWorkflow(path.id), (workflow) => executeStored(workflow, payload, "api")))
      .handle("executeAny", ({ payload }) =>
        Effect.gen(function*() {
          if ((payload.workflowId === undefined) === (payload.definition === undefined)) {
            return yield* new BadRequest({ message: "give exactly one of workflowId or definition" })
          }
          if (payload.workflowId !== undefined) {
            return yield* executeStored(yield* visibleWorkflow(payload.workflowId), payload, "orchestrator")
          }
          if (payload.projectId === undefined) {
            return yield* new BadRequest({ message: "an inline definition needs a projectId" })
          }
          yield* requireProjectRole(payload.projectId, "developer")
          const user = yield* CurrentUser
          const { definition } = yield* definitions.check(payload.projectId, payload.definition, null)
          const { run } = yield* runs.start({
            projectId: payload.projectId,
            workflowId: null,
            version: 1,
            definition,
            input: payload.input ?? {},
            trigger: "orchestrator",
            idempotencyKey: payload.idempotencyKey ?? null,
            createdBy: user.userId
          })
          return run
        }))
      .handle("workflowStatus", ({ path }) =>
        Effect.gen(function*() {
          const workflow = yield* visibleWorkflow(path.id)
          const [latest] = yield* repo.listRuns(workflow.id, 1)
          if (latest === undefined) return yield* new NotFound({ message: `workflow ${workflow.id} has no runs yet` })
          return latest
        }))
      .handle("listRuns", ({ path, urlParams }) =>
        Effect.flatMap(visibleWorkflow(path.id), (workflow) => repo.listRuns(workflow.id, urlParams.limit ?? 50)))
      .handle("getRun", ({ path }) => visibleRun(path.runId))
      .handle("cancelRun", ({ path }) => cancelRun(path.runId))
      .handle("signalRun", ({ path, payload }) => signalRun(path.runId, payload))
  })).pipe(Layer.provide(Layer.mergeAll(WorkflowRepo.Default, WorkflowRuns.Default, WorkflowDefinitions.Default)))
