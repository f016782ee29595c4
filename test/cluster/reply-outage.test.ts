import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { Effect, LogLevel } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import { DeliveryProbeLive } from "../../src/system/DeliveryProbeLive.ts"
import { type PrivatePostgres, startPrivatePostgres } from "../support/privatePostgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * A reply that cannot be stored because PostgreSQL went away is stored once it is back, and
 * the message is answered and applied. The entity manager alone tries a reply 5 times within a
 * second and then gives up on the request without running it again, so an outage longer than
 * that left an acknowledged message unanswered for good (BatchedMessageStorage retries it).
 *
 * The reply's statement is held in the database (a trigger sleeps) so the outage begins while
 * it is in flight; the single node runs in this process on a private server.
 */
let pg: PrivatePostgres

beforeAll(async () => {
  pg = await startPrivatePostgres()
}, 120_000)

afterAll(async () => {
  await pg?.remove()
}, 60_000)

const clusterOn = (url: string) =>
  singleNodeRuntime(DeliveryProbeLive, url, { logLevel: LogLevel.None })

describe("a reply stored across a database outage", () => {
  test("PostgreSQL stopped while a reply is being stored: answered and applied once it is back", async () => {
    const runtime = clusterOn(pg.url)
    const admin = () => new SQL(pg.url)
    try {
      const apply = (messageId: string) =>
        runtime.runPromise(Effect.flatMap(DeliveryProbe.client, (probe) => probe("outage").Apply({ messageId, amount: 1 })))
      expect(await apply("before")).toEqual({ applied: true })
      const sql = admin()
      await sql.unsafe(`
        CREATE FUNCTION hold_reply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
        CREATE TRIGGER hold_reply BEFORE INSERT ON cluster_replies FOR EACH ROW EXECUTE FUNCTION hold_reply();`)
      await sql.close()
      const answer = apply("during")
      // The reply's statement is waiting in the trigger: stop the server under it.
      const probe = admin()
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        const [row] = await probe`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep'`
        if (row.n > 0) break
        await Bun.sleep(20)
      }
      await probe.close()
      await pg.stopImmediate()
      // Longer than the entity manager's own tries (5, 200 ms apart).
      await Bun.sleep(2_500)
      await pg.start()
      const after = admin()
      await after`DROP TRIGGER hold_reply ON cluster_replies`
      await after.close()
      expect(await Promise.race([answer, Bun.sleep(30_000).then(() => "no answer in 30 s")])).toEqual({ applied: true })
      const check = admin()
      const [effect] = await check`SELECT count(*)::int AS n FROM delivery_probe_effects WHERE message_id = 'during'`
      const [stored] = await check`
        SELECT count(*)::int AS n FROM cluster_messages m JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
        WHERE m.message_id = 'DeliveryProbe/outage/Apply/during' AND m.processed`
      await check.close()
      expect({ effect: effect.n, stored: stored.n }).toEqual({ effect: 1, stored: 1 })
    } finally {
      await runtime.dispose()
    }
  }, 120_000)
})
