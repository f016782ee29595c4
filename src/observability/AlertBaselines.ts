import { Effect } from "effect"

/**
 * The value of a rule's metric when the rule was created or changed, so that
 * `increase` / `rate` count from that moment rather than from the evaluator's
 * first tick (requests in between would otherwise be missed). Kept in this
 * process, like the evaluator's own history: the REST handler that saves the
 * rule records it and the evaluator takes it for the rule's first point.
 */
export class AlertBaselines extends Effect.Service<AlertBaselines>()("Observability/AlertBaselines", {
  sync: () => {
    const baselines = new Map<string, { readonly at: number; readonly value: number }>()
    return {
      record: (ruleId: string, at: number, value: number) => Effect.sync(() => void baselines.set(ruleId, { at, value })),
      /** The baseline, once: later points come from the evaluator's own samples. */
      take: (ruleId: string) =>
        Effect.sync(() => {
          const point = baselines.get(ruleId)
          baselines.delete(ruleId)
          return point
        })
    } as const
  }
}) {}
