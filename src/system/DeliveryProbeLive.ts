import { Entity } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import * as ReplyWrites from "../cluster/ReplyWrites.ts"

/**
 * Apply's effect for a group of deliveries, in one statement: each message's effect row once
 * (a redelivered or repeated messageId finds its row and adds nothing), and each entity's
 * total, applied and delivery counts moved by its rows of the group together (one upsert per
 * entity: rows of one statement may not update a row twice).
 */
const applyEffect: ReplyWrites.ReplyWriteKind<{ messageId: string; entityId: string; amount: number }> = {
  name: "delivery_probe_apply",
  parameterCount: 3,
  parameters: (rows) => [rows.map((r) => r.messageId), rows.map((r) => r.entityId), rows.map((r) => r.amount)],
  ctes: (p) => `
    probe_delivered AS (
      SELECT * FROM unnest($${p}::text[], $${p + 1}::text[], $${p + 2}::int[]) AS d(message_id, entity_id, amount)
    ),
    probe_effect AS (
      INSERT INTO delivery_probe_effects (message_id, entity_id, amount)
      SELECT message_id, entity_id, amount FROM probe_delivered
      ON CONFLICT (message_id) DO NOTHING
      RETURNING message_id, entity_id, amount
    ),
    probe_totals AS (
      INSERT INTO delivery_probe_totals (entity_id, total, applied, deliveries)
      SELECT d.entity_id, COALESCE(sum(e.amount), 0), count(e.message_id), count(*)
      FROM probe_delivered d LEFT JOIN probe_effect e ON e.message_id = d.message_id AND e.entity_id = d.entity_id
      GROUP BY d.entity_id
      ON CONFLICT (entity_id) DO UPDATE SET
        total = delivery_probe_totals.total + EXCLUDED.total,
        applied = delivery_probe_totals.applied + EXCLUDED.applied,
        deliveries = delivery_probe_totals.deliveries + EXCLUDED.deliveries
    )`
}

export const DeliveryProbeLive = DeliveryProbe.toLayer(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { entityId } = yield* Entity.CurrentAddress
    const withReply = yield* ReplyWrites.forEntity(DeliveryProbe)
    return DeliveryProbe.of({
      // The effect commits with the reply (ReplyWrites): an answered Apply applied it once.
      Apply: (request) =>
        withReply(request, { applied: true as const }, applyEffect, {
          messageId: request.payload.messageId,
          entityId,
          amount: request.payload.amount
        }).pipe(Effect.orDie),
      Ack: () => Effect.succeed(true),
      Echo: ({ payload }) => Effect.succeed(payload.n),
      Totals: () =>
        sql<{ total: string; applied: number; deliveries: number }>`
          SELECT total, applied, deliveries FROM delivery_probe_totals WHERE entity_id = ${entityId}`.pipe(
          Effect.map((rows) =>
            rows.length === 0
              ? { total: 0, applied: 0, deliveries: 0 }
              : { total: Number(rows[0].total), applied: rows[0].applied, deliveries: rows[0].deliveries }
          ),
          Effect.orDie
        )
    })
  }),
  // Messages of one entity run one at a time; many entities run in parallel.
  { maxIdleTime: "30 seconds", concurrency: 1 }
)
