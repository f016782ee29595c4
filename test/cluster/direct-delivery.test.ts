import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { MessageStorage } from "@effect/cluster"
import { Effect, Layer } from "effect"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import * as BatchedMessageStorage from "../../src/cluster/BatchedMessageStorage.ts"
import { singleNodeClusterOn } from "../../src/cluster/ClusterLive.ts"
import { DeliveryProbeLive } from "../../src/system/DeliveryProbeLive.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * Direct local delivery (patches/@effect%2Fcluster@*.patch): a persisted message sent on the
 * node that owns its entity reaches the entity once stored, without the storage read loop
 * reading it back. The read loop's timer is set to an hour, so during the sends it reads only
 * when something opens its latch; the library's path opened it for every message.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL
let reads = 0

/** Our storage, counting the read loop's polls. */
const countingStorage = Layer.effect(
  MessageStorage.MessageStorage,
  Effect.map(MessageStorage.MessageStorage, (storage) => ({
    ...storage,
    unprocessedMessages: (shardIds: Parameters<typeof storage.unprocessedMessages>[0]) => {
      reads++
      return storage.unprocessedMessages(shardIds)
    }
  }))
).pipe(Layer.provide(BatchedMessageStorage.layer))

const sharding = { entityMessagePollInterval: "1 hour", entityReplyPollInterval: "200 millis" } as const

const makeCluster = () =>
  singleNodeRuntime(DeliveryProbeLive, db.url, { cluster: singleNodeClusterOn(countingStorage, sharding) })

beforeAll(async () => {
  db = await createTestDatabase("direct_delivery")
  admin = new SQL(db.url)
})

afterAll(async () => {
  await admin?.close()
  await db?.drop()
})

describe("direct local delivery of persisted messages", () => {
  test("200 persisted messages, 40 at a time, are applied once, answered and stored processed, with no storage read", async () => {
    const runtime = makeCluster()
    try {
      const apply = (ids: ReadonlyArray<number>, prefix: string) =>
        runtime.runPromise(Effect.gen(function*() {
          const probe = yield* DeliveryProbe.client
          return yield* Effect.forEach(ids, (i) => probe(`d-${i % 20}`).Apply({ messageId: `${prefix}-${i}`, amount: 2 }), {
            concurrency: "unbounded"
          })
        }))
      // Activates the entities and lets the read loop's start-up reads finish.
      await apply([0, 1, 2], "warm")
      await Bun.sleep(500)
      const before = reads
      // Five waves one after the other: the library's path reads storage at least once per wave.
      const replies: Array<{ readonly applied: boolean }> = []
      for (let wave = 0; wave < 5; wave++) {
        replies.push(...(await apply(Array.from({ length: 40 }, (_, i) => wave * 40 + i), "m")))
      }
      expect(reads - before).toBe(0)
      expect(replies.every((r) => r.applied)).toBe(true)
      const totals = await runtime.runPromise(Effect.flatMap(DeliveryProbe.client, (probe) => probe("d-7").Totals()))
      expect(totals).toEqual({ total: 20, applied: 10, deliveries: 10 })
      const [stored] = await admin`
        SELECT count(*)::int AS messages, count(*) FILTER (WHERE processed)::int AS processed
        FROM cluster_messages WHERE message_id LIKE 'DeliveryProbe/%/Apply/m-%'`
      expect(stored).toEqual({ messages: 200, processed: 200 })
      // A message sent again is a duplicate: answered from storage, not applied twice.
      const again = await apply([7], "m")
      expect(again[0].applied).toBe(true)
      const after = await runtime.runPromise(Effect.flatMap(DeliveryProbe.client, (probe) => probe("d-7").Totals()))
      expect(after).toEqual(totals)
    } finally {
      await runtime.dispose()
    }
  }, 60_000)
})
