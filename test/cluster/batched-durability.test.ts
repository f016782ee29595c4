import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL, type Subprocess } from "bun"
import * as path from "node:path"
import { createTestDatabase } from "../support/postgres.ts"
import { killAndWait, waitFor } from "../support/process.ts"

/**
 * BatchedMessageStorage answers a sender only once the group holding its message committed:
 * kill -9 of the process while thousands of grouped writes are in flight, restart, and every
 * message a sender saw acknowledged is applied, each exactly once.
 */
const SEND = 3000
const KILL_AFTER_ACKS = 800
let db: Awaited<ReturnType<typeof createTestDatabase>>
const children: Array<Subprocess> = []

const startNode = (mode: "send" | "serve") => {
  const child = Bun.spawn(["bun", path.join(import.meta.dir, "support/batchedNode.ts")], {
    env: { ...process.env, DATABASE_URL: db.url, NODE_MODE: mode, SEND_COUNT: String(SEND) },
    stdout: "pipe",
    stderr: "inherit"
  })
  children.push(child)
  return child
}

beforeAll(async () => {
  db = await createTestDatabase("batched_durability")
})

afterAll(async () => {
  await Promise.all(children.map((c) => killAndWait(c)))
  await db?.drop()
}, 60_000)

describe("BatchedMessageStorage under kill -9", () => {
  test("every acknowledged message is applied exactly once after a crash and restart", async () => {
    const acked = new Set<string>()
    const sender = startNode("send")
    const reader = sender.stdout.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    while (acked.size < KILL_AFTER_ACKS) {
      const { done, value } = await reader.read()
      if (done) throw new Error(`sender exited after ${acked.size} acknowledgements`)
      buffer += value
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) if (line.startsWith("ack ")) acked.add(line.slice(4))
    }
    // Acknowledgements printed after this point never reach us: they do not count.
    await killAndWait(sender, "SIGKILL")
    expect(acked.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS)

    const sql = new SQL(db.url)
    try {
      const [before] = await sql`SELECT count(*)::int AS n FROM delivery_probe_effects`
      startNode("serve")
      const ids = [...acked]
      await waitFor(async () => {
        const [row] = await sql`SELECT count(*)::int AS n FROM delivery_probe_effects WHERE message_id IN ${sql(ids)}`
        return row.n === ids.length
      }, 240_000)
      // One statement, so one snapshot: the restarted node is still applying unacknowledged messages,
      // and two reads would see it move between them.
      const [counts] = await sql`
        SELECT (SELECT count(*)::int FROM delivery_probe_effects) AS n,
               (SELECT coalesce(sum(applied), 0)::int FROM delivery_probe_totals) AS applied,
               (SELECT coalesce(sum(total), 0)::int FROM delivery_probe_totals) AS total`
      const effects = { n: counts.n as number }
      // Each effect row is one application: the counters moved once per row, never twice.
      expect({ applied: counts.applied, total: counts.total }).toEqual({ applied: effects.n, total: effects.n })
      console.info(`acknowledged ${ids.length}; applied before the kill ${before.n}, after restart ${effects.n}`)
    } finally {
      await sql.close()
    }
  }, 400_000)
})
