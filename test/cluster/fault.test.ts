import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Duration, Effect, ManagedRuntime, Schedule } from "effect"
import { SQL } from "bun"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import { clusterClientLayer } from "../support/clusterClient.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { clusterNodeEnv, spawnPlatform, waitFor } from "../support/process.ts"

/**
 * Three runner processes on the local PostgreSQL 15. 10,000 persisted messages
 * to 500 entities; one runner is killed with SIGKILL mid-stream and restarted.
 * Nothing may be lost and no effect may be applied twice.
 */
// Overridable for a quick local run; CI uses the numbers.
const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 10_000)
const ENTITIES = Number(process.env.FAULT_ENTITIES ?? 500)
const t0 = Date.now()
const progress = (what: string) => console.info(`[fault +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`)

type Node = Awaited<ReturnType<typeof spawnPlatform>>
let db: Awaited<ReturnType<typeof createTestDatabase>>
const nodes: Array<Node | undefined> = []
// Made once the database exists; node i keeps its ports across its restarts.
let nodeEnv: ReturnType<typeof clusterNodeEnv> | undefined
const envFor = (i: number) =>
  (nodeEnv ??= clusterNodeEnv({ databaseUrl: db.url, jwtSecret: "fault-test-secret-0123456789abcdef0123456789" }))(i)

beforeAll(async () => {
  db = await createTestDatabase("fault")
  // The first runner migrates; the others join once it is up.
  nodes[0] = await spawnPlatform(envFor(0), "src/runner.ts")
  nodes[1] = await spawnPlatform(envFor(1), "src/runner.ts")
  nodes[2] = await spawnPlatform(envFor(2), "src/runner.ts")
  // Shards are rebalanced shortly after a runner joins: wait until every runner owns some.
  await waitFor(async () => {
    const owned = await Promise.all(
      nodes.map(async (n) => (await (await fetch(`${n!.baseUrl}/health`)).json()).cluster.ownedShards as number)
    )
    return owned.every((o) => o > 0) && owned.reduce((a, b) => a + b, 0) === 300
  }, 180_000)
}, 300_000)

afterAll(async () => {
  await Promise.all(nodes.map((n) => n?.kill("SIGKILL")))
  await db?.drop()
})

describe("multi-node cluster under a runner crash", () => {
  test("10,000 persisted messages, kill -9 of a runner mid-stream: 0 lost, each effect applied once", async () => {
    const client = ManagedRuntime.make(clusterClientLayer(db.url))
    const expected = new Map<string, number>()
    const messages = Array.from({ length: MESSAGES }, (_, i) => {
      const entityId = `probe-${i % ENTITIES}`
      const amount = 1 + (i % 7)
      expected.set(entityId, (expected.get(entityId) ?? 0) + amount)
      return { entityId, messageId: `m-${i}`, amount }
    })
    const send = (batch: typeof messages) =>
      client.runPromise(
        Effect.gen(function*() {
          const probe = yield* DeliveryProbe.client
          yield* Effect.forEach(
            batch,
            (m) => probe(m.entityId).Apply({ messageId: m.messageId, amount: m.amount }, { discard: true }),
            { concurrency: 64, discard: true }
          )
        })
      )

    try {
      progress("runners up, sending the first half")
      await send(messages.slice(0, MESSAGES / 2))
      progress("first half sent; kill -9 runner 2")
      const killedAt = Date.now()
      await nodes[1]!.kill("SIGKILL")
      nodes[1] = undefined

      // Failover: every entity answers a volatile request again (its shard moved to a survivor).
      const failover = client.runPromise(
        Effect.gen(function*() {
          const probe = yield* DeliveryProbe.client
          yield* Effect.forEach(
            Array.from({ length: ENTITIES }, (_, i) => `probe-${i}`),
            (id) =>
              probe(id).Totals().pipe(
                Effect.timeout("5 seconds"),
                // Until its shard has moved, a call to the dead runner fails fast: keep asking.
                Effect.retry({ schedule: Schedule.spaced("250 millis"), while: () => Date.now() - killedAt < 120_000 })
              ),
            { concurrency: 50, discard: true }
          )
          return Date.now() - killedAt
        })
      )
      await send(messages.slice(MESSAGES / 2))
      progress("second half sent")
      const failoverMs = await failover
      console.info(`failover: all ${ENTITIES} entities answered ${failoverMs} ms after kill -9`)
      expect(failoverMs).toBeLessThan(Duration.toMillis("120 seconds"))

      nodes[1] = await spawnPlatform(envFor(1), "src/runner.ts")
      progress("runner 2 restarted; waiting for every effect")

      const sql = new SQL(db.url)
      try {
        await waitFor(async () => {
          const [row] = await sql`SELECT count(*)::int AS n FROM delivery_probe_effects`
          return row.n === MESSAGES
        }, 300_000)
        const totals = await sql`SELECT entity_id, total::int AS total, applied, deliveries FROM delivery_probe_totals`
        expect(totals.length).toBe(ENTITIES)
        let applied = 0
        let deliveries = 0
        for (const t of totals) {
          expect(t.total).toBe(expected.get(t.entity_id))
          applied += t.applied
          deliveries += t.deliveries
        }
        expect(applied).toBe(MESSAGES)
        // Redeliveries may happen (at-least-once), but they never re-applied an effect.
        expect(deliveries).toBeGreaterThanOrEqual(MESSAGES)
        console.info(`deliveries: ${deliveries} for ${MESSAGES} messages (${deliveries - MESSAGES} redelivered)`)
      } finally {
        await sql.close()
      }
    } finally {
      await client.dispose()
    }
  }, 300_000)
})
