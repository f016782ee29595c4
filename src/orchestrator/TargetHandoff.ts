import { Effect } from "effect"
import type { DeliveryRecord, RegistryEntry } from "../domain/Orchestration.ts"
import type { StoredRequest } from "./DeliveryRepo.ts"

/** What the router hands over: the target it looked up and, for a delivery it just created, the record as stored. */
export interface Handed {
  readonly target: RegistryEntry
  /** Only for a delivery this request created (pending, no attempt yet): the handler need not open it again. */
  readonly created?: { readonly record: DeliveryRecord; readonly request: StoredRequest } | undefined
}

/** Past this age a handed-over target is looked up again: the handoff only spans router → handler. */
const MAX_AGE_MS = 5_000
/** Handoffs nobody took (the message ran on another runner) are dropped oldest first past this. */
const MAX_ENTRIES = 10_000

/**
 * The target the router just looked up, handed to the Delivery handler that
 * runs the message in this process moments later, so the handler does not
 * read the registry a second time (one statement per message). In memory and
 * per process on purpose: a message resumed after a restart, run on another
 * runner, retried, or taken after `MAX_AGE_MS` finds nothing here and reads
 * the registry itself. Taking removes the entry, so a target is used at most
 * once and never outlives the request that looked it up (the router drops it
 * when its call ends).
 */
export class TargetHandoff extends Effect.Service<TargetHandoff>()("Orchestrator/TargetHandoff", {
  sync: () => {
    const entries = new Map<string, { readonly handed: Handed; readonly at: number }>()
    return {
      offer: (deliveryId: string, handed: Handed) =>
        Effect.sync(() => {
          if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string)
          entries.set(deliveryId, { handed, at: performance.now() })
        }),
      /** What was handed over for this delivery, if fresh; removed either way. */
      take: (deliveryId: string) =>
        Effect.sync(() => {
          const entry = entries.get(deliveryId)
          if (entry === undefined) return undefined
          entries.delete(deliveryId)
          return performance.now() - entry.at <= MAX_AGE_MS ? entry.handed : undefined
        }),
      drop: (deliveryId: string) => Effect.sync(() => void entries.delete(deliveryId))
    } as const
  }
}) {}
