import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { ClusterSchema, DeliverAt, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { DateTime, Effect, PrimaryKey, Schema } from "effect"
import { createTestDatabase } from "../support/postgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * A persisted request due later (DeliverAt: a workflow's durable clock, a cluster cron) is
 * handled when it is due, not when it is sent, also when it is sent on the node that owns its
 * entity. Our direct local delivery (@effect/cluster patch) handed every locally sent request to
 * its entity at once: a workflow's hour-long `wait` ended the moment it began.
 */
class Wake extends Schema.Class<Wake>("test/Wake")({ id: Schema.String, at: Schema.Number }) {
  [PrimaryKey.symbol]() {
    return this.id
  }
  [DeliverAt.symbol]() {
    return DateTime.unsafeMake(this.at)
  }
}

const handledAt = new Map<string, number>()

const Alarm = Entity.make("Alarm", [
  Rpc.make("Ring", { payload: Wake }).annotate(ClusterSchema.Persisted, true)
])

const AlarmLive = Alarm.toLayer(Effect.succeed(Alarm.of({
  Ring: ({ payload }) => Effect.sync(() => void handledAt.set(payload.id, Date.now()))
})))

let db: Awaited<ReturnType<typeof createTestDatabase>>

beforeAll(async () => {
  db = await createTestDatabase("deliver_at")
})

afterAll(async () => {
  await db?.drop()
})

describe("a persisted request with DeliverAt sent on its entity's node", () => {
  test("is handled when due, not when sent", async () => {
    const runtime = singleNodeRuntime(AlarmLive, db.url)
    try {
      // The first request waits for the node's shards and is read back from storage; the next are handed over.
      await runtime.runPromise(Effect.flatMap(Alarm.client, (alarm) => alarm("a").Ring(new Wake({ id: "now", at: Date.now() }))))
      expect(handledAt.has("now")).toBe(true)
      const sentAt = Date.now()
      const dueAt = sentAt + 2_500
      await runtime.runPromise(Effect.flatMap(Alarm.client, (alarm) =>
        alarm("a").Ring(new Wake({ id: "later", at: dueAt }), { discard: true })))
      // Sent on the node that owns the entity, with nothing else to do meanwhile.
      await Bun.sleep(1_000)
      expect(handledAt.has("later")).toBe(false)
      const deadline = Date.now() + 10_000
      while (!handledAt.has("later") && Date.now() < deadline) await Bun.sleep(50)
      expect(handledAt.get("later")).toBeGreaterThanOrEqual(dueAt)
    } finally {
      await runtime.dispose()
    }
  }, 30_000)
})
