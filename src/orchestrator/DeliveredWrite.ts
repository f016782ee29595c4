import { jsonRowsKind } from "../cluster/ReplyWrites.ts"
import type { AgentReply } from "../domain/Orchestration.ts"

/**
 * A fresh delivery's `pending → delivered` written with its `Deliver` reply
 * (src/cluster/ReplyWrites.ts): what `DeliveryRepo.markDelivered` writes, for every delivery
 * whose reply is in one group, in the statement that stores those replies. One commit for the
 * delivery's end and its reply instead of two.
 *
 * Only for a delivery the router created moments ago in this process (its record is known and
 * pending, its first attempt counted with this outcome); the record still moves only while
 * pending, so a late duplicate cannot overwrite the first reply.
 *
 * Each delivery is found by its key one row at a time (LATERAL with OFFSET 0, as
 * TaskFinishWrite.ts). "Still pending" is a join condition (`d.status = f.own_status`, the
 * status the lookup found pending), not `d.status = 'pending'`: as a condition on the table
 * alone it made the planner expect one pending row in a new table and read the table
 * sequentially (the embedded database never gathers statistics, so that plan was kept for
 * good). A join condition is still checked again on a row changed meanwhile (READ COMMITTED
 * re-evaluation), so a delivery that stopped being pending is not overwritten.
 */
export interface DeliveredRow {
  readonly id: string
  readonly reply: AgentReply
  /** The attempt was not counted when it started (a fresh delivery's first). */
  readonly count_attempt: boolean
}

export const deliveredWrite = jsonRowsKind<DeliveredRow>("orchestrator_delivered", (rows) => `
    orchestrator_delivered AS (
      UPDATE orchestrator_deliveries d SET status = 'delivered', reply = f.reply, last_error = NULL,
        attempts = d.attempts + CASE WHEN f.count_attempt THEN 1 ELSE 0 END, delivered_at = now(), updated_at = now()
      FROM (
        SELECT f.*, own.id AS own_id, own.status AS own_status
        FROM jsonb_to_recordset(${rows}) AS f(id text, reply jsonb, count_attempt boolean)
        CROSS JOIN LATERAL (SELECT id, status FROM orchestrator_deliveries WHERE id = f.id AND status = 'pending' OFFSET 0) AS own
      ) AS f
      WHERE d.id = f.own_id AND d.status = f.own_status
    )`)
