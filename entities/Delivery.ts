import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { DeliveryRecord } from "../src/domain/Orchestration.ts"

/**
 * Orchestrator messages on their way to agents. The request itself is in
 * `orchestrator_deliveries` (written before this message is sent); `Deliver` is
 * persisted and keyed by the delivery id, so a message accepted before a crash
 * is run again after restart, and sending it twice is the same message. The
 * handler retries with backoff, dead-letters after the attempt bound, and
 * answers a finished delivery from its record.
 *
 * Deliveries share entities: one of `DELIVERY_ENTITIES` per delivery id
 * (`deliveryEntityId`), running its deliveries side by side. Starting an
 * entity and stopping it cost 1-2 ms of CPU, a third of a routed message's,
 * when each delivery was its own entity (issue #19). Messages stored under the
 * delivery id itself (before this) still run: any entity id works.
 */
export const Delivery = Entity.make("Delivery", [
  Rpc.make("Deliver", {
    payload: {
      deliveryId: Schema.String,
      /**
       * The delivery's project and target as the router stored them, so the
       * handler can look the target up before it opens the delivery (one
       * statement fewer per message). Optional: messages persisted before
       * they were added still run, from the stored record alone.
       */
      projectId: Schema.optional(Schema.String),
      to: Schema.optional(Schema.String)
    },
    success: DeliveryRecord,
    primaryKey: (p) => p.deliveryId
  }).annotate(ClusterSchema.Persisted, true)
])

/** How many Delivery entities the deliveries are spread over (and so over shards and runners). */
export const DELIVERY_ENTITIES = 64

/**
 * The entity a delivery's `Deliver` goes to: fixed by its id (FNV-1a), so a message sent
 * again, or resumed after a crash, reaches the same entity and is deduplicated there.
 */
export const deliveryEntityId = (deliveryId: string) => {
  let hash = 0x811c9dc5
  for (let i = 0; i < deliveryId.length; i++) hash = Math.imul(hash ^ deliveryId.charCodeAt(i), 0x01000193)
  return `deliveries-${(hash >>> 0) % DELIVERY_ENTITIES}`
}
