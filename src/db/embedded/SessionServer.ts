import type { PGlite } from "@electric-sql/pglite"
import * as net from "node:net"
import { SessionMultiplexer } from "./SessionMultiplexer.ts"

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4])

/** A simple-protocol Query message. */
const query = (text: string) => {
  const body = new TextEncoder().encode(`${text}\0`)
  const message = new Uint8Array(5 + body.length)
  message[0] = 0x51 // 'Q'
  new DataView(message.buffer).setInt32(1, 4 + body.length)
  message.set(body, 5)
  return message
}
const ROLLBACK = query("ROLLBACK")

/** A running wire-protocol server over one PGlite session. */
export interface SessionServer {
  readonly port: number
  readonly close: () => Promise<void>
}

/**
 * Serves `db` over the Postgres wire protocol on a free loopback port, one
 * connection owning the session at a time (SessionMultiplexer). With
 * `password`, only clients that send it reach the database.
 */
export const serveSession = async (db: PGlite, options: { readonly password?: string } = {}): Promise<SessionServer> => {
  const multiplexer = new SessionMultiplexer({
    exec: (message, onData) => db.runExclusive(() => db.execProtocolRawStream(message, { onRawData: onData })),
    // Ends a half-sent extended-query batch, then any transaction left open. Raw protocol
    // only: PGlite's own query methods take the lock runExclusive already holds.
    reset: () =>
      db.runExclusive(async () => {
        await db.execProtocolRaw(SYNC)
        if (db.isInTransaction()) await db.execProtocolRaw(ROLLBACK)
      })
  }, options)
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    const connection = multiplexer.connect({
      write: (data) => {
        if (!socket.destroyed) socket.write(data)
      },
      close: () => socket.end()
    })
    socket.on("data", (chunk: Buffer) => connection.receive(chunk))
    socket.on("error", () => socket.destroy())
    socket.on("close", () => {
      sockets.delete(socket)
      connection.disconnect()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
