import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Option, Schema } from "effect"
import { type MessageStorageKind, singleNodeClusterWith } from "../../src/cluster/ClusterLive.ts"
import * as RequestWrites from "../../src/cluster/RequestWrites.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * A sender's write attached to its persisted request (src/cluster/RequestWrites.ts) on the
 * single-node cluster with BatchedMessageStorage, local PostgreSQL 15: it commits in the
 * transaction that inserts the request (a trigger records each request row's inserting
 * transaction), grouped with other requests, only for a request actually stored, and what it
 * read reaches the request's handler.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>
let admin: SQL

const Written = Schema.NullOr(Schema.Struct({ n: Schema.Int, txid: Schema.String }))
const Noter = Entity.make("Noter", [
  Rpc.make("Note", {
    payload: { n: Schema.Int },
    success: Schema.Struct({ n: Schema.Int, written: Written }),
    primaryKey: (p) => String(p.n)
  }).annotate(ClusterSchema.Persisted, true)
])

const keyOf = (entityId: string, n: number) => RequestWrites.requestKey("Noter", entityId, "Note", String(n))

/** Inserts a note per stored request; fails (division by zero) when `failGrouped` and its group holds more than one. */
const noteWrite = (failGrouped: boolean): RequestWrites.RequestWriteKind<{ n: number }, typeof Written.Type> => ({
  name: failGrouped ? "noter_lonely" : "noter_note",
  decode: Schema.decodeUnknown(Written),
  ctes: (rows) => {
    const name = failGrouped ? "noter_lonely" : "noter_note"
    return `
    ${name}_rows AS (
      SELECT w.* FROM jsonb_to_recordset(${rows}) AS w("messageId" text, n int)
      JOIN stored s ON s.message_id = w."messageId"
    ),
    ${name}_insert AS (
      INSERT INTO request_notes (message_id, n)
      SELECT "messageId", n / ${failGrouped ? `(CASE WHEN jsonb_array_length(${rows}) > 1 THEN 0 ELSE 1 END)` : "1"}
      FROM ${name}_rows
      RETURNING message_id, n, txid::text
    ),
    ${name}_result AS (
      SELECT message_id, json_build_object('n', n, 'txid', txid) AS result FROM ${name}_insert
    )`
  }
})
const plain = noteWrite(false)
const lonely = noteWrite(true)

const NoterLive = Noter.toLayer(Effect.succeed(Noter.of({
  Note: ({ address, payload: { n } }) =>
    Effect.gen(function*() {
      const key = keyOf(address.entityId, n)
      const written = yield* RequestWrites.resultOf(key, plain)
      return { n, written: Option.getOrNull(Option.isSome(written) ? written : yield* RequestWrites.resultOf(key, lonely)) }
    })
})))

const clusterOn = (kind: MessageStorageKind) =>
  singleNodeRuntime(NoterLive, db.url, { cluster: singleNodeClusterWith(kind) })

const sendAll = (
  runtime: ReturnType<typeof clusterOn>,
  ns: ReadonlyArray<number>,
  kind: RequestWrites.RequestWriteKind<{ n: number }, unknown> = plain
) =>
  runtime.runPromise(Effect.gen(function*() {
    const noter = yield* Noter.client
    return yield* Effect.forEach(ns, (n) => {
      const entityId = `noter-${n % 7}`
      return RequestWrites.withRequestWrite(keyOf(entityId, n), kind, { n }, noter(entityId).Note({ n }))
    }, { concurrency: "unbounded" })
  }))

/** Per note: its row's inserting transaction and its request row's (the trigger's record). */
const transactions = async (ns: ReadonlyArray<number>) =>
  (await admin.unsafe(`
    SELECT n.n, n.txid::text AS note, t.txid::text AS request
    FROM request_notes n JOIN request_txids t ON t.message_id = n.message_id
    WHERE n.n = ANY($1::int[]) ORDER BY n.n`, [ns])) as Array<{ n: number; note: string; request: string }>

beforeAll(async () => {
  db = await createTestDatabase("request_writes")
  admin = new SQL(db.url)
  // The cluster's tables exist once a node started on the database.
  const migrate = clusterOn("batched")
  await sendAll(migrate, [])
  await migrate.dispose()
  await admin.unsafe(`
    CREATE TABLE request_notes (message_id text PRIMARY KEY, n int NOT NULL, txid xid8 NOT NULL DEFAULT pg_current_xact_id());
    CREATE TABLE request_txids (message_id text PRIMARY KEY, txid xid8 NOT NULL);
    CREATE FUNCTION record_request_txid() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO request_txids VALUES (NEW.message_id, pg_current_xact_id()); RETURN NEW; END $$;
    CREATE TRIGGER record_request_txid AFTER INSERT ON cluster_messages
      FOR EACH ROW WHEN (NEW.message_id LIKE 'Noter/%') EXECUTE FUNCTION record_request_txid();`)
})

afterAll(async () => {
  await admin?.close()
  await db?.drop()
})

describe("RequestWrites", () => {
  test("each write commits with its request, grouped, and its result reaches the request's handler", async () => {
    const runtime = clusterOn("batched")
    try {
      const ns = Array.from({ length: 300 }, (_, i) => i)
      const answers = await sendAll(runtime, ns)
      const tx = await transactions(ns)
      expect(tx.length).toBe(300)
      for (const row of tx) expect(row.note).toBe(row.request)
      // Sent at once: the requests went in fewer statements (transactions) than there are requests.
      expect(new Set(tx.map((t) => t.note)).size).toBeLessThan(300)
      const byN = new Map(tx.map((t) => [t.n, t.note]))
      for (const a of answers) expect(a.written).toEqual({ n: a.n, txid: byN.get(a.n)! })
    } finally {
      await runtime.dispose()
    }
  })

  test("a request already stored writes nothing again, and its handler is not run again", async () => {
    const runtime = clusterOn("batched")
    try {
      const [first] = await sendAll(runtime, [1000])
      const [again] = await sendAll(runtime, [1000])
      expect(again).toEqual(first)
      expect((await transactions([1000])).length).toBe(1)
    } finally {
      await runtime.dispose()
    }
  })

  test("writes that fail only when grouped are each written with their request, alone", async () => {
    const runtime = clusterOn("batched")
    try {
      const ns = Array.from({ length: 40 }, (_, i) => 2000 + i)
      const answers = await sendAll(runtime, ns, lonely)
      const tx = await transactions(ns)
      expect(tx.length).toBe(40)
      for (const row of tx) expect(row.note).toBe(row.request)
      expect(new Set(tx.map((t) => t.note)).size).toBe(40)
      for (const a of answers) expect(a.written?.n).toBe(a.n)
    } finally {
      await runtime.dispose()
    }
  })

  test("under the library's storage nothing is written with the request and the handler finds no result", async () => {
    const runtime = clusterOn("library")
    try {
      const ns = [3000, 3001, 3002]
      const answers = await sendAll(runtime, ns)
      expect(answers.map((a) => a.written)).toEqual([null, null, null])
      expect(await transactions(ns)).toEqual([])
    } finally {
      await runtime.dispose()
    }
  })
})
