import { Cron, Effect, Either, Option } from "effect"
import { BadRequest } from "../kernel/WireErrors.ts"
import { type Problem, validate, type Validated } from "./Validation.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowsConfig } from "./WorkflowsConfig.ts"

/**
 * The shortest gap between two ticks of a schedule, in seconds, over its next
 * 100 ticks (stopping below `floor`): a cron's fields are sets, so a gap under
 * a minute shows in the first burst of seconds, one under an hour within the
 * first hour's ticks (`* * * * * *` at once, `0,1 0 0 * * *` on the first day).
 */
export const shortestCronInterval = (cron: Cron.Cron, floor = 1, from = new Date()): number => {
  let shortest = Number.POSITIVE_INFINITY
  let previous = Cron.next(cron, from)
  for (let i = 0; i < 100 && shortest >= floor; i++) {
    const next = Cron.next(cron, previous)
    shortest = Math.min(shortest, (next.getTime() - previous.getTime()) / 1000)
    previous = next
  }
  return shortest
}

/**
 * Checks a definition before it is stored or run: the pure validation, then
 * what needs the database — every sub-workflow exists in the same project and
 * no chain of sub-workflows leads back to the workflow being saved.
 */
export class WorkflowDefinitions extends Effect.Service<WorkflowDefinitions>()("Workflows/WorkflowDefinitions", {
  effect: Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const workflowsConfig = yield* WorkflowsConfig

    const subworkflowIds = (definition: unknown): ReadonlyArray<string> => {
      const v = validate(definition)
      return Either.isRight(v) ? v.right.subworkflows.map((s) => s.workflowId) : []
    }

    const check = Effect.fn("WorkflowDefinitions.check")(function*(
      projectId: string,
      raw: unknown,
      selfId: string | null
    ) {
      const validated = validate(raw)
      if (Either.isLeft(validated)) {
        return yield* new BadRequest({ message: "invalid workflow definition", issues: validated.left })
      }
      const problems: Array<Problem> = []
      const schedule = validated.right.definition.schedule
      if (schedule !== undefined) {
        const interval = shortestCronInterval(Cron.unsafeParse(schedule.cron), workflowsConfig.minCronIntervalSeconds)
        if (interval < workflowsConfig.minCronIntervalSeconds) {
          problems.push({
            path: "schedule.cron",
            message: `the schedule fires every ${interval} s; the shortest interval allowed is ${workflowsConfig.minCronIntervalSeconds} s`
          })
        }
      }
      for (const sub of validated.right.subworkflows) {
        if (sub.workflowId === selfId) {
          problems.push({ path: sub.path, message: `sub-workflow cycle: ${selfId} -> ${selfId}` })
          continue
        }
        const found = yield* repo.findWorkflow(sub.workflowId, [projectId])
        if (Option.isNone(found)) {
          problems.push({ path: `${sub.path}.workflowId`, message: `references unknown workflow '${sub.workflowId}'` })
          continue
        }
        if (selfId === null) continue
        // Walk the latest versions below it (bounded) looking for the workflow being saved.
        const seen = new Set<string>([sub.workflowId])
        let frontier: Array<{ id: string; chain: Array<string> }> = [{ id: sub.workflowId, chain: [selfId, sub.workflowId] }]
        for (let depth = 0; depth < 10 && frontier.length > 0; depth++) {
          const next: typeof frontier = []
          for (const node of frontier) {
            const w = yield* repo.findWorkflow(node.id, [projectId])
            if (Option.isNone(w)) continue
            for (const child of subworkflowIds(w.value.definition)) {
              if (child === selfId) problems.push({ path: sub.path, message: `sub-workflow cycle: ${[...node.chain, selfId].join(" -> ")}` })
              else if (!seen.has(child)) {
                seen.add(child)
                next.push({ id: child, chain: [...node.chain, child] })
              }
            }
          }
          frontier = next
        }
      }
      if (problems.length > 0) return yield* new BadRequest({ message: "invalid workflow definition", issues: problems })
      return validated.right satisfies Validated
    })

    return { check } as const
  }),
  dependencies: [WorkflowRepo.Default]
}) {}
