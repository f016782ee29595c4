import { Entity } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"

export const DeliveryProbeLive = DeliveryProbe.toLayer(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { entityId } = yield* Entity.CurrentAddress
    return DeliveryProbe.of({
      Apply: ({ payload }) =>
        // One statement, so one implicit transaction and one round trip: the effect row and
        // the total move together, and a redelivered message finds its row (the CTE inserts
        // nothing) and changes nothing but the delivery count. Four round trips before
        // (BEGIN, two INSERTs, COMMIT) were most of a persisted message's cost (issue #19).
        sql<{ applied: boolean }>`
          WITH effect AS (
            INSERT INTO delivery_probe_effects (message_id, entity_id, amount)
            VALUES (${payload.messageId}, ${entityId}, ${payload.amount})
            ON CONFLICT (message_id) DO NOTHING
            RETURNING amount
          )
          INSERT INTO delivery_probe_totals (entity_id, total, applied, deliveries)
          SELECT ${entityId}, COALESCE((SELECT amount FROM effect), 0), (SELECT count(*) FROM effect), 1
          ON CONFLICT (entity_id) DO UPDATE SET
            total = delivery_probe_totals.total + EXCLUDED.total,
            applied = delivery_probe_totals.applied + EXCLUDED.applied,
            deliveries = delivery_probe_totals.deliveries + 1
          RETURNING EXISTS (SELECT 1 FROM effect) AS applied`.pipe(
          Effect.map((rows) => ({ applied: rows[0].applied })),
          Effect.orDie
        ),
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
