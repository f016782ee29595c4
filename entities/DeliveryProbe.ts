import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

/**
 * Delivery guarantees made observable: each `Apply` adds `amount` to the
 * entity's total exactly once, however many times the cluster delivers it
 * (at-least-once delivery + an idempotent handler keyed by messageId).
 * Used by the multi-node fault test and the cluster benchmark; operators can
 * use it as a canary.
 */
export const ApplyPayload = {
  messageId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  amount: Schema.Int
}

export const ProbeTotals = Schema.Struct({ total: Schema.Int, applied: Schema.Int, deliveries: Schema.Int })

export const DeliveryProbe = Entity.make("DeliveryProbe", [
  Rpc.make("Apply", {
    payload: ApplyPayload,
    // An answered Apply has its effect recorded: the effect commits with the reply.
    success: Schema.Struct({ applied: Schema.Literal(true) }),
    primaryKey: (p) => p.messageId
  }).annotate(ClusterSchema.Persisted, true),
  // Persisted, no I/O in the handler: what storing a message and its reply costs by itself.
  Rpc.make("Ack", {
    payload: { messageId: ApplyPayload.messageId },
    success: Schema.Boolean,
    primaryKey: (p) => p.messageId
  }).annotate(ClusterSchema.Persisted, true),
  // Volatile: not stored, answered by whichever runner owns the entity now.
  Rpc.make("Totals", { success: ProbeTotals }),
  // Volatile, no I/O: measures the runtime's own messaging cost.
  Rpc.make("Echo", { payload: { n: Schema.Int }, success: Schema.Int })
])
