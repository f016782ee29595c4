import { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as net from "node:net"
import pg from "pg"
import { type SessionBackend, SessionMultiplexer } from "../../src/db/embedded/SessionMultiplexer.ts"
import { type SessionServer, serveSession } from "../../src/db/embedded/SessionServer.ts"

/**
 * The embedded database is ONE PGlite session shared by the pool's
 * connections: these tests drive it with real node-postgres clients and
 * check that connections never see each other's half-done queries or
 * transactions.
 */
describe("one PGlite session behind several wire-protocol connections", () => {
  let db: PGlite
  let server: SessionServer
  const clients: Array<pg.Client> = []

  const connect = async () => {
    const client = new pg.Client({ host: "127.0.0.1", port: server.port, user: "postgres", database: "postgres" })
    await client.connect()
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    db = await PGlite.create()
    server = await serveSession(db)
    await db.exec("CREATE TABLE items (id int PRIMARY KEY, owner text NOT NULL)")
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)))
    await server.close()
    await db.close()
  })

  test("concurrent parameterised queries on three connections all get their own answers", async () => {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()])
    const run = (client: pg.Client, tag: string) =>
      Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          client.query<{ tag: string; n: number }>("SELECT $1::text AS tag, $2::int * 2 AS n", [tag, i]).then((r) => r.rows[0]))
      )
    const [ra, rb, rc] = await Promise.all([run(a!, "a"), run(b!, "b"), run(c!, "c")])
    for (const [rows, tag] of [[ra, "a"], [rb, "b"], [rc, "c"]] as const) {
      expect(rows.map((r) => r?.tag)).toEqual(Array(150).fill(tag))
      expect(rows.map((r) => r?.n)).toEqual(Array.from({ length: 150 }, (_, i) => i * 2))
    }
  })

  test("another connection's statements wait for an open transaction instead of joining it", async () => {
    const [a, b] = await Promise.all([connect(), connect()])
    await a!.query("BEGIN")
    await a!.query("INSERT INTO items VALUES (1, 'a')")
    // b's insert is sent while a's transaction is open; it must not become part of it.
    const bInsert = b!.query("INSERT INTO items VALUES (2, 'b')")
    await Bun.sleep(50)
    await a!.query("ROLLBACK")
    await bInsert
    const rows = (await b!.query<{ id: number; owner: string }>("SELECT id, owner FROM items ORDER BY id")).rows
    expect(rows).toEqual([{ id: 2, owner: "b" }])
  })

  test("a connection that vanishes mid-transaction is rolled back and the others go on", async () => {
    const a = await connect()
    const b = await connect()
    a.on("error", () => undefined)
    await a.query("BEGIN")
    await a.query("INSERT INTO items VALUES (3, 'a')")
    const waiting = b.query<{ n: number }>("SELECT count(*)::int AS n FROM items WHERE id = 3")
    // Kill a's socket without a Terminate message, as a crashed pool client would.
    ;(a as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy()
    expect((await waiting).rows[0]?.n).toBe(0)
    expect(db.isInTransaction()).toBe(false)
  })

  test("a Terminate from one client does not end the shared session", async () => {
    const a = await connect()
    const b = await connect()
    await a.end()
    clients.splice(clients.indexOf(a), 1)
    expect((await b.query<{ one: number }>("SELECT 1 AS one")).rows[0]?.one).toBe(1)
  })

  test("a failed statement inside a transaction keeps the session for its owner until ROLLBACK", async () => {
    const [a, b] = await Promise.all([connect(), connect()])
    await a!.query("BEGIN")
    await expect(a!.query("SELECT * FROM no_such_table")).rejects.toThrow(/no_such_table/)
    const bQuery = b!.query<{ one: number }>("SELECT 1 AS one")
    await Bun.sleep(30)
    // a's transaction is aborted ('E'): b still waits rather than being answered "current transaction is aborted".
    await a!.query("ROLLBACK")
    expect((await bQuery).rows[0]?.one).toBe(1)
  })

  test("a named statement is the session's: each connection parses it once, the session holds it once", async () => {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()])
    const named = (client: pg.Client, n: number) =>
      client.query<{ n: number }>({ name: "plus_one", text: "SELECT $1::int + 1 AS n", values: [n] }).then((r) => r.rows[0]?.n)
    // b's and c's first Parse of the name reach a session that has it: answered by the multiplexer, not refused.
    expect(await Promise.all([named(a!, 1), named(b!, 2), named(c!, 3), named(a!, 4), named(b!, 5)])).toEqual([2, 3, 4, 5, 6])
    const held = await db.query<{ name: string }>("SELECT name FROM pg_prepared_statements")
    expect(held.rows.map((r) => r.name)).toEqual(["plus_one"])
    // Dropped by a simple query: a new connection's Parse goes to the session again.
    await a!.query("DEALLOCATE ALL")
    const d = await connect()
    expect(await named(d, 9)).toBe(10)
  })

  test("a statement the session holds without the multiplexer knowing it does not make its name fail", async () => {
    // Prepared on the session directly, as a batch whose reply was never seen would leave it.
    await db.exec("PREPARE plus_two (int) AS SELECT $1 + 2 AS n")
    const e = await connect()
    const r = await e.query<{ n: number }>({ name: "plus_two", text: "SELECT $1::int + 2 AS n", values: [5] })
    expect(r.rows[0]?.n).toBe(7)
    expect((await e.query<{ n: number }>({ name: "plus_two", text: "SELECT $1::int + 2 AS n", values: [6] })).rows[0]?.n).toBe(8)
  })
})

describe("the multiplexer hands its sinks bytes of their own", () => {
  test("a sink that keeps what it is given (as a socket does with what it cannot send yet) gets intact replies", async () => {
    // Like PGlite: every reply message is written into one reused output buffer and handed over
    // as a view of it; the next message overwrites it.
    const scratch = new Uint8Array(64)
    const message = (type: number, body: Uint8Array) => {
      scratch[0] = type
      new DataView(scratch.buffer).setInt32(1, 4 + body.length)
      scratch.set(body, 5)
      return scratch.subarray(0, 5 + body.length)
    }
    const READY = 0x5a
    const backend: SessionBackend = {
      exec: async (_request, onData) => {
        onData(message(0x44, new TextEncoder().encode("first row")))
        onData(message(0x44, new TextEncoder().encode("second row")))
        onData(message(READY, new Uint8Array([0x49])))
      },
      reset: async () => {}
    }
    const kept: Array<Uint8Array> = []
    const multiplexer = new SessionMultiplexer(backend)
    const connection = multiplexer.connect({ write: (data) => void kept.push(data), close: () => {} })
    // A v3 startup packet, then one simple query.
    const startup = new Uint8Array(8)
    new DataView(startup.buffer).setInt32(0, 8)
    new DataView(startup.buffer).setInt32(4, 196608)
    connection.receive(startup)
    await Bun.sleep(10)
    const query = new Uint8Array([0x51, 0, 0, 0, 5, 0])
    connection.receive(query)
    await Bun.sleep(10)
    const received = new TextDecoder().decode(Uint8Array.from(kept.flatMap((chunk) => [...chunk])))
    // Twice (startup, query): each reply's two rows as the backend wrote them.
    expect(received.match(/first row|second row/g)).toEqual(["first row", "second row", "first row", "second row"])
  })
})
