import { Effect, Layer } from "effect"
import { WorkflowsRpcs } from "../../rpc/WorkflowsRpcs.ts"
import { visibleProjectIds } from "../auth/ProjectAccess.ts"
import { WorkflowDefinitions } from "./WorkflowDefinitions.ts"
import { cancelRun, createWorkflow, executeStored, signalRun, visibleRun, visibleWorkflow } from "./WorkflowAccess.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowRuns } from "./WorkflowRuns.ts"

/** `workflows.*` RPCs: the REST handlers' operations (src/workflows/WorkflowAccess.ts). */
export const WorkflowsRpcLive = WorkflowsRpcs.toLayer(
  Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    return WorkflowsRpcs.of({
      "workflows.list": ({ projectId }) =>
        Effect.flatMap(visibleProjectIds, (ids) => repo.listWorkflows(projectId === undefined ? ids : ids.filter((id) => id === projectId))),
      "workflows.get": ({ id }) => visibleWorkflow(id),
      "workflows.create": (payload) => createWorkflow(payload),
      "workflows.run": ({ id, ...options }) => Effect.flatMap(visibleWorkflow(id), (workflow) => executeStored(workflow, options, "api")),
      "workflows.getRun": ({ runId }) => visibleRun(runId),
      "workflows.listRuns": ({ id, limit }) => Effect.flatMap(visibleWorkflow(id), (workflow) => repo.listRuns(workflow.id, limit)),
      "workflows.approve": ({ runId, ...signal }) => signalRun(runId, signal),
      "workflows.cancel": ({ runId }) => cancelRun(runId)
    })
  })
).pipe(Layer.provide(Layer.mergeAll(WorkflowRepo.Default, WorkflowRuns.Default, WorkflowDefinitions.Default)))
