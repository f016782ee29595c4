import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Deferred, Effect, Schema } from "effect"
import * as ReplyWrites from "../../src/cluster/ReplyWrites.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * A persisted request that finds its entity's mailbox full. Sent on the node that owns the
 * entity, it is handed to the entity once stored (direct local delivery, our @effect/cluster
 * patch); a full mailbox answers MailboxFull there, and the request falls back to the storage
 * read loop, which resumes the entity from storage (`unprocessedMessagesById`, re-pointed by
 * BatchedMessageStorage at its own reply path) until the mailbox has room. The orchestrator's
 * Delivery entities take @effect/cluster's default mailbox (4,096 requests) each; here it
 * holds 4.
 */
const MailboxProbe = Entity.make("MailboxProbe", [
  Rpc.make("Hold", {
    payload: { messageId: Schema.String },
    success: Schema.Struct({ held: Schema.String }),
    primaryKey: (p) => p.messageId
  }).annotate(ClusterSchema.Persisted, true)
])

const MAILBOX = 4
const handled = new Map<string, number>()
let running = 0
let mostRunning = 0
const gate = Effect.runSync(Deferred.make<void>())

/** The handler's effect, committed with its reply (ReplyWrites): an answered request has its row. */
const heldEffect: ReplyWrites.ReplyWriteKind<{ messageId: string }> = {
  name: "mailbox_probe_held",
  parameterCount: 1,
  parameters: (rows) => [rows.map((r) => r.messageId)],
  ctes: (p) => `
    mailbox_probe_held AS (
      INSERT INTO mailbox_probe_effects (message_id) SELECT unnest($${p}::text[])
    )`
}

const MailboxProbeLive = MailboxProbe.toLayer(
  Effect.gen(function*() {
    const withReply = yield* ReplyWrites.forEntity(MailboxProbe)
    return MailboxProbe.of({
      Hold: (request) => {
        const { messageId } = request.payload
        return Effect.acquireUseRelease(
          Effect.sync(() => {
            handled.set(messageId, (handled.get(messageId) ?? 0) + 1)
            mostRunning = Math.max(mostRunning, ++running)
          }),
          () => Deferred.await(gate),
          () => Effect.sync(() => running--)
        ).pipe(Effect.zipRight(withReply(request, { held: messageId }, heldEffect, { messageId })), Effect.orDie)
      }
    })
  }),
  { concurrency: "unbounded", mailboxCapacity: MAILBOX }
)

let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL

beforeAll(async () => {
  db = await createTestDatabase("mailbox_full")
  admin = new SQL(db.url)
  await admin`CREATE TABLE mailbox_probe_effects (message_id text PRIMARY KEY)`
})

afterAll(async () => {
  await admin?.close()
  await db?.drop()
})

describe("a persisted request that finds its entity's mailbox full", () => {
  test("waits in storage: 24 requests to one entity with a mailbox of 4 are each handled once, answered, their effects committed", async () => {
    const runtime = singleNodeRuntime(MailboxProbeLive, db.url)
    try {
      await runtime.runtime()
      const ids = Array.from({ length: 24 }, (_, i) => `hold-${i}`)
      const replies = runtime.runPromise(Effect.gen(function*() {
        const probe = yield* MailboxProbe.client
        return yield* Effect.forEach(ids, (messageId) => probe("one").Hold({ messageId }), { concurrency: "unbounded" })
      }))
      // Every request stored and the mailbox's worth running before any is let go.
      const deadline = Date.now() + 20_000
      for (;;) {
        const [stored] = await admin`SELECT count(*)::int AS n FROM cluster_messages WHERE message_id LIKE 'MailboxProbe/%'`
        if ((stored.n === ids.length && running === MAILBOX) || Date.now() > deadline) break
        await Bun.sleep(50)
      }
      expect(running).toBe(MAILBOX)
      expect(handled.size).toBe(MAILBOX)
      await Effect.runPromise(Deferred.succeed(gate, undefined))
      expect(await replies).toEqual(ids.map((id) => ({ held: id })))
      expect(mostRunning).toBe(MAILBOX)
      expect([...handled.keys()].sort()).toEqual([...ids].sort())
      expect([...handled.values()].every((n) => n === 1)).toBe(true)
      const effects = await admin`SELECT message_id FROM mailbox_probe_effects ORDER BY message_id`
      expect(effects.map((r: { message_id: string }) => r.message_id)).toEqual([...ids].sort())
      const [processed] = await admin`
        SELECT count(*) FILTER (WHERE processed)::int AS processed, count(*)::int AS messages
        FROM cluster_messages WHERE message_id LIKE 'MailboxProbe/%'`
      expect(processed).toEqual({ processed: ids.length, messages: ids.length })
    } finally {
      await runtime.dispose()
    }
  }, 60_000)
})
