import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { DeliveryRecord } from "../src/domain/Orchestration.ts"

/**
 * One orchestrator message on its way to an agent (entity id = delivery id).
 * The request itself is in `orchestrator_deliveries` (written before this
 * message is sent); `Deliver` is persisted and keyed by the delivery id, so a
 * message accepted before a crash is run again after restart, and sending it
 * twice is the same message. The handler retries with backoff, dead-letters
 * after the attempt bound, and answers a finished delivery from its record.
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
