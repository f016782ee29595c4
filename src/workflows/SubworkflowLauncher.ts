import { Activity } from "@effect/workflow"
import { Effect, Either, Option, Schema } from "effect"
import { WorkflowsConfig } from "./WorkflowsConfig.ts"
import type { Step } from "../domain/WorkflowDefinition.ts"
import { StepFailed, WorkflowRunFailed } from "../domain/WorkflowErrors.ts"
import { validate } from "./Validation.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"

/** A child's run id is derived from its parent's run id and step key, so a replay finds the same child. */
export const childRunId = (parentRunId: string, key: string) =>
  `wfr_${new Bun.CryptoHasher("sha256").update(`${parentRunId}/${key}`).digest("hex").slice(0, 32)}`

/**
 * Creates the child run of a `subworkflow` step, as an Activity: the version
 * it resolves (the latest unless pinned) is journaled with it, so a replay
 * never picks a newer version. The child must be in the parent's project.
 */
export class SubworkflowLauncher extends Effect.Service<SubworkflowLauncher>()("Workflows/SubworkflowLauncher", {
  effect: Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const workflowsConfig = yield* WorkflowsConfig
    const prepare = (o: {
      parentRunId: string
      projectId: string
      depth: number
      step: Extract<Step, { type: "subworkflow" }>
      key: string
      input: unknown
    }) =>
      Activity.make({
        name: `prepare/${o.key}`,
        success: Schema.String,
        error: StepFailed,
        execute: Effect.gen(function*() {
          const fail = (message: string) => new StepFailed({ stepId: o.step.id, message, retryable: false })
          if (o.depth + 1 > workflowsConfig.maxDepth) {
            return yield* fail(`sub-workflows nest deeper than ${workflowsConfig.maxDepth} levels`)
          }
          const workflow = yield* repo.findWorkflow(o.step.workflowId, [o.projectId])
          if (Option.isNone(workflow)) return yield* fail(`workflow ${o.step.workflowId} not found in this project`)
          const version = o.step.version ?? workflow.value.version
          const definition = yield* repo.findVersion(o.step.workflowId, version)
          if (Option.isNone(definition)) return yield* fail(`workflow ${o.step.workflowId} has no version ${version}`)
          if (Either.isLeft(validate(definition.value))) return yield* fail(`workflow ${o.step.workflowId} v${version} is invalid`)
          const id = childRunId(o.parentRunId, o.key)
          yield* repo.createRun({
            id,
            workflowId: o.step.workflowId,
            projectId: o.projectId,
            version,
            definition: definition.value,
            input: o.input,
            trigger: "subworkflow",
            parentRunId: o.parentRunId,
            depth: o.depth + 1,
            idempotencyKey: null,
            createdBy: null
          })
          return id
        })
      }).pipe(
        Effect.mapError((e) => new WorkflowRunFailed({ stepId: o.step.id, message: e.message, attempts: 1 }))
      )
    return { prepare } as const
  }),
  dependencies: [WorkflowRepo.Default]
}) {}
