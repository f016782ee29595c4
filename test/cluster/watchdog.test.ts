import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, ManagedRuntime } from "effect"
import { SQL } from "bun"
import { DeliveryProbe } from "../../entities/DeliveryProbe.ts"
import { clusterClientLayer } from "../support/clusterClient.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { clusterNodeEnv, spawnPlatform, waitFor } from "../support/process.ts"

/**
 * The processing watchdog against a real runner process on the local PostgreSQL 15.
 * Processing is stalled the way it stalls in production: a transaction elsewhere
 * holds a lock the entity handler needs (DeliveryProbe.Apply writes
 * delivery_probe_totals), so persisted messages pile up while HTTP still answers.
 */
const METRICS_TOKEN = "watchdog-metrics-token"
let db: Awaited<ReturnType<typeof createTestDatabase>>
let node: Awaited<ReturnType<typeof spawnPlatform>> | undefined
const makeClient = (url: string) => ManagedRuntime.make(clusterClientLayer(url))
let client: ReturnType<typeof makeClient> | undefined

const health = async () => {
  const response = await fetch(`${node!.baseUrl}/health`)
  return { status: response.status, body: await response.json() }
}
const metric = async (name: string) => {
  const text = await (await fetch(`${node!.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}
const apply = (messages: ReadonlyArray<{ entityId: string; messageId: string }>, discard: boolean) =>
  client!.runPromise(
    Effect.gen(function*() {
      const probe = yield* DeliveryProbe.client
      yield* Effect.forEach(messages, (m) => probe(m.entityId).Apply({ messageId: m.messageId, amount: 1 }, { discard }), {
        concurrency: 10,
        discard: true
      })
    })
  )

beforeAll(async () => {
  db = await createTestDatabase("watchdog")
  node = await spawnPlatform(
    {
      ...clusterNodeEnv({ databaseUrl: db.url, jwtSecret: "watchdog-test-secret-0123456789abcdef012345" })(0),
      // Short limits so the test sees the verdict in seconds (default 120 s / 5 s).
      WATCHDOG_STALL_SECONDS: "3",
      WATCHDOG_INTERVAL_SECONDS: "1",
      METRICS_TOKEN
    },
    "src/runner.ts"
  )
  await waitFor(async () => (await health()).body.cluster.ownedShards === 300, 120_000)
  client = makeClient(db.url)
}, 240_000)

afterAll(async () => {
  await client?.dispose()
  await node?.kill("SIGKILL")
  await db?.drop()
})

describe("processing watchdog", () => {
  test("/health is 503 naming the stall while a lock blocks entity handlers, and recovers once it is released", async () => {
    // Normal traffic: answered, nothing left pending, healthy.
    await apply(Array.from({ length: 20 }, (_, i) => ({ entityId: `w-${i % 5}`, messageId: `before-${i}` })), false)
    await waitFor(async () => {
      const h = await health()
      return h.status === 200 && h.body.processing.ok && h.body.processing.pendingMessages === 0
    }, 30_000)

    const sql = new SQL(db.url)
    const blocker = await sql.reserve()
    try {
      // One entity's row is locked: its handler waits (holding one pool connection, so the
      // database stays reachable for everything else) and its later messages queue behind it.
      await blocker`BEGIN`
      await blocker`SELECT entity_id FROM delivery_probe_totals WHERE entity_id = 'w-0' FOR UPDATE`
      await apply(Array.from({ length: 5 }, (_, i) => ({ entityId: "w-0", messageId: `stalled-${i}` })), true)

      await waitFor(async () => (await health()).status === 503, 60_000)
      const stalled = await health()
      expect(stalled.body.status).toBe("degraded")
      expect(stalled.body.database.ok).toBe(true)
      expect(stalled.body.processing.ok).toBe(false)
      expect(stalled.body.processing.pendingMessages).toBe(5)
      expect(stalled.body.processing.oldestPendingSeconds).toBeGreaterThanOrEqual(3)
      expect(stalled.body.processing.reason).toContain("processing stalled")
      expect(await metric("cluster_processing_stalled")).toBe(1)
      expect(await metric("cluster_messages_unprocessed")).toBe(5)
      expect(await metric("cluster_messages_oldest_unprocessed_seconds")).toBeGreaterThanOrEqual(3)
    } finally {
      await blocker`ROLLBACK`
      blocker.release()
    }

    // Released: the waiting messages run, the verdict clears.
    await waitFor(async () => {
      const h = await health()
      return h.status === 200 && h.body.processing.ok && h.body.processing.pendingMessages === 0
    }, 60_000)
    expect(await metric("cluster_processing_stalled")).toBe(0)
    const [row] = await sql`SELECT count(*)::int AS n FROM delivery_probe_effects WHERE message_id LIKE 'stalled-%'`
    expect(row.n).toBe(5)
    await sql.close()
  }, 180_000)
})
