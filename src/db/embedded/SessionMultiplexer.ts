/**
 * Shares ONE Postgres session (PGlite) between several wire-protocol client
 * connections without mixing them up.
 *
 * PGlite has a single backend session. `@electric-sql/pglite-socket` hands
 * it each message as it arrives, so connection A's Parse/Bind could be
 * followed by connection B's Parse before A's Execute ("portal does not
 * exist"), and B's statements could land inside A's open transaction.
 * Here a connection OWNS the session from its first message until the
 * session is idle again: the last reply is ReadyForQuery with status 'I'
 * (not in a transaction, no extended-query batch half done). Other
 * connections queue meanwhile: the same semantics as a database with one
 * backend, which is what PGlite is.
 *
 * Named prepared statements belong to the session, not to a connection:
 * node-postgres parses a named statement once per connection, so a second
 * connection's Parse of a name the session already has would fail ("already
 * exists"). The multiplexer keeps the session's names: a Parse of a known name
 * with the same text, first in its batch, is answered with ParseComplete here
 * instead of reaching the database (src/db/PreparedStatements.ts names a
 * statement by its text, so every pool on this session agrees). A Parse of a
 * name it does not know goes with a Close of that name before it (closing a
 * missing statement is no error; its CloseComplete is not passed on), so a
 * statement the session kept from a batch whose end was never seen cannot
 * make that name fail forever.
 */

import { createHash, timingSafeEqual } from "node:crypto"

/** Runs raw frontend protocol bytes on the session, streaming the raw backend reply. */
export interface SessionBackend {
  /**
   * `onData`'s bytes are valid only during the call: PGlite hands a view of its WebAssembly
   * heap, which its next output overwrites.
   */
  readonly exec: (message: Uint8Array, onData: (data: Uint8Array) => void) => Promise<void>
  /** Resets a session a vanished owner left mid-batch or mid-transaction. */
  readonly reset: () => Promise<void>
}

/** The client side of one connection, as the multiplexer sees it. */
export interface ClientSink {
  /** May keep `data` (a socket holds what the kernel did not take yet): it is the sink's own. */
  readonly write: (data: Uint8Array) => void
  readonly close: () => void
}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
const PROTOCOL_3 = 196608
const TERMINATE = 0x58 // 'X'
const READY_FOR_QUERY = 0x5a // 'Z'
const IDLE = 0x49 // 'I'
// Asynchronous backend messages that may follow ReadyForQuery without changing the session state.
const NOTICE = 0x4e // 'N'
const NOTIFICATION = 0x41 // 'A'
const REFUSED = 0x4e // 'N', the answer to an SSL/GSS encryption request
const PASSWORD_MESSAGE = 0x70 // 'p'
const PARSE = 0x50 // 'P'
const CLOSE = 0x43 // 'C'
const QUERY = 0x51 // 'Q'
const STATEMENT = 0x53 // 'S', the kind of object a Close names
const PARSE_COMPLETE_TYPE = 0x31 // '1'
const PARSE_COMPLETE = new Uint8Array([PARSE_COMPLETE_TYPE, 0, 0, 0, 4])
const CLOSE_COMPLETE_TYPE = 0x33 // '3'
/** A simple query that may drop the session's prepared statements. */
const DROPS_STATEMENTS = /\b(DEALLOCATE|DISCARD)\b/i

/** AuthenticationCleartextPassword: the client answers with a PasswordMessage. */
const AUTH_CLEARTEXT = new Uint8Array([0x52, 0, 0, 0, 8, 0, 0, 0, 3])

/** A FATAL ErrorResponse: the connection ends after it. */
const fatal = (code: string, message: string) => {
  const fields = new TextEncoder().encode(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`)
  const out = new Uint8Array(5 + fields.length)
  out[0] = 0x45 // 'E'
  new DataView(out.buffer).setInt32(1, 4 + fields.length)
  out.set(fields, 5)
  return out
}

const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest()

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** The NUL-terminated string at `offset` of `message`, and the offset after it. */
const cstring = (message: Uint8Array, offset: number): readonly [string, number] => {
  const end = message.indexOf(0, offset)
  const stop = end === -1 ? message.length : end
  return [decoder.decode(message.subarray(offset, stop)), stop + 1]
}

/** Close ('C', length, 'S', name): drops a named statement; no error when there is none. */
const closeStatement = (name: string) => {
  const bytes = encoder.encode(name)
  const out = new Uint8Array(7 + bytes.length)
  out[0] = CLOSE
  new DataView(out.buffer).setInt32(1, 6 + bytes.length)
  out[5] = STATEMENT
  out.set(bytes, 6)
  return out
}

/**
 * Drops the reply's first message when it is the CloseComplete of a Close the multiplexer
 * added; anything else (an error: the session is in an aborted transaction) goes through.
 */
const withoutAddedCloseComplete = (write: (data: Uint8Array) => void) => {
  let head: Uint8Array | undefined = new Uint8Array(0)
  return (data: Uint8Array) => {
    if (head === undefined) return write(data)
    const joined: Uint8Array = concat([head, data])
    if (joined.length < 5) {
      head = joined
      return
    }
    head = undefined
    const rest = joined[0] === CLOSE_COMPLETE_TYPE ? joined.subarray(5) : joined
    if (rest.length > 0) write(rest)
  }
}

/** Name and text of a Parse message ('P', length, name, query, ...). */
const parseOf = (message: Uint8Array) => {
  const [name, next] = cstring(message, 5)
  const [text] = cstring(message, next)
  return { name, text }
}

class Connection {
  private buffer: Uint8Array = new Uint8Array(0)
  started = false
  closed = false
  queued = false
  /** Without a password every connection is trusted (tests of the multiplexer alone). */
  authenticated: boolean
  /** The startup packet, held back until the password is checked. */
  startup: Uint8Array | undefined

  constructor(readonly sink: ClientSink, requirePassword: boolean) {
    this.authenticated = !requirePassword
  }

  append(chunk: Uint8Array) {
    if (this.buffer.length === 0) {
      this.buffer = chunk
      return
    }
    const next = new Uint8Array(this.buffer.length + chunk.length)
    next.set(this.buffer)
    next.set(chunk, this.buffer.length)
    this.buffer = next
  }

  /** Length of the first complete message in the buffer, or 0 when it is not complete yet. */
  private nextLength(offset: number): number {
    const rest = this.buffer.length - offset
    const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset)
    if (!this.started) return rest >= 4 && rest >= view.getInt32(0) ? view.getInt32(0) : 0
    return rest >= 5 && rest >= 1 + view.getInt32(1) ? 1 + view.getInt32(1) : 0
  }

  hasCompleteMessage(): boolean {
    return this.nextLength(0) > 0
  }

  /** Removes and returns every complete message buffered so far; startup-phase messages have no type byte. */
  takeMessages(): Array<{ readonly message: Uint8Array; readonly typed: boolean }> {
    const out: Array<{ readonly message: Uint8Array; readonly typed: boolean }> = []
    let offset = 0
    for (;;) {
      const length = this.nextLength(offset)
      if (length === 0) break
      const message = this.buffer.subarray(offset, offset + length)
      out.push({ message, typed: this.started })
      offset += length
      // Only the startup phase has untyped messages; after the startup packet every message has a type byte.
      if (!this.started) {
        const code = new DataView(message.buffer, message.byteOffset).getInt32(4)
        if (code === PROTOCOL_3) this.started = true
      }
    }
    this.buffer = this.buffer.slice(offset)
    return out
  }
}

/** Follows the backend reply stream to learn the type (and ReadyForQuery status) of its last message. */
class ReplyTracker {
  private header = new Uint8Array(5)
  private headerFill = 0
  private remaining = 0
  private type = 0
  lastType = 0
  lastStatus = 0
  /** The type of the reply's first message (0 before it arrived). */
  firstType = 0

  feed(data: Uint8Array) {
    let i = 0
    while (i < data.length) {
      if (this.remaining === 0) {
        this.header[this.headerFill++] = data[i++]!
        if (this.headerFill === 5) {
          this.headerFill = 0
          this.type = this.header[0]!
          if (this.firstType === 0) this.firstType = this.type
          this.remaining = new DataView(this.header.buffer).getInt32(1) - 4
          if (this.type !== NOTICE && this.type !== NOTIFICATION) this.lastType = this.type
        }
        continue
      }
      const take = Math.min(this.remaining, data.length - i)
      if (this.type === READY_FOR_QUERY) this.lastStatus = data[i + take - 1]!
      i += take
      this.remaining -= take
    }
  }

  get idle() {
    return this.lastType === READY_FOR_QUERY && this.lastStatus === IDLE && this.remaining === 0 && this.headerFill === 0
  }
}

export class SessionMultiplexer {
  private owner: Connection | undefined
  private readonly ready: Array<Connection> = []
  private running = false

  private readonly password: Buffer | undefined
  /** The session's named prepared statements: name → text. */
  private readonly statements = new Map<string, string>()

  /**
   * With `password`, a client must send it (cleartext password exchange, on
   * loopback) before its startup packet reaches the database: the platform's
   * own database is not open to anything else on the machine, such as a
   * tenant's SQL-tool connection pointed at this port (issue #17).
   */
  constructor(private readonly backend: SessionBackend, options: { readonly password?: string } = {}) {
    this.password = options.password === undefined ? undefined : digest(new TextEncoder().encode(options.password))
  }

  /** A new client connection; feed it bytes with the returned `receive`, and `disconnect` when it goes. */
  connect(sink: ClientSink) {
    const connection = new Connection(sink, this.password !== undefined)
    return {
      receive: (chunk: Uint8Array) => {
        if (connection.closed) return
        connection.append(chunk)
        this.enqueue(connection)
        void this.pump()
      },
      disconnect: () => this.disconnect(connection)
    }
  }

  private enqueue(connection: Connection) {
    if (!connection.closed && !connection.queued && connection.hasCompleteMessage()) {
      connection.queued = true
      this.ready.push(connection)
    }
  }

  private disconnect(connection: Connection) {
    if (connection.closed) return
    connection.closed = true
    void this.pump()
  }

  private pick(): Connection | undefined {
    if (this.owner !== undefined) {
      const i = this.ready.indexOf(this.owner)
      return i === -1 ? undefined : this.ready.splice(i, 1)[0]
    }
    return this.ready.shift()
  }

  private async pump() {
    if (this.running) return
    this.running = true
    try {
      for (;;) {
        if (this.owner?.closed) {
          // The owner left mid-transaction or mid-batch: roll back before anyone else uses the session.
          this.owner = undefined
          await this.backend.reset().catch(() => undefined)
        }
        const connection = this.pick()
        if (connection === undefined) break
        connection.queued = false
        if (!connection.closed) await this.runUnit(connection)
        this.enqueue(connection)
      }
    } finally {
      this.running = false
    }
  }

  /** A PasswordMessage ('p', the password, NUL) carrying the expected password. */
  private checkPassword(message: Uint8Array): boolean {
    if (this.password === undefined || message[0] !== PASSWORD_MESSAGE || message.length < 6) return false
    const given = message.subarray(5, message[message.length - 1] === 0 ? message.length - 1 : message.length)
    return timingSafeEqual(digest(given), this.password)
  }

  private async runUnit(connection: Connection) {
    const batch: Array<Uint8Array> = []
    let terminate = false
    // A Parse first in the batch: answered here when the session has its statement (`answered`),
    // else sent after a Close of its name and remembered once the database accepted it (`parsing`).
    let answered = false
    let parsing: { readonly name: string; readonly text: string } | undefined
    for (const { message, typed } of connection.takeMessages()) {
      if (!typed) {
        const code = message.length >= 8 ? new DataView(message.buffer, message.byteOffset).getInt32(4) : 0
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          // No TLS on a loopback socket: 'N' tells the client to go on in plain text.
          connection.sink.write(new Uint8Array([REFUSED]))
          continue
        }
        if (code === CANCEL_REQUEST) {
          // Cancellation is not supported by PGlite; the request's connection just ends.
          terminate = true
          break
        }
        if (!connection.authenticated) {
          if (code !== PROTOCOL_3) {
            // Nothing but a v3 startup packet reaches the database before the password.
            terminate = true
            break
          }
          connection.startup = message.slice()
          connection.sink.write(AUTH_CLEARTEXT)
          continue
        }
      } else if (!connection.authenticated) {
        if (!this.checkPassword(message)) {
          connection.sink.write(fatal("28P01", "password authentication failed"))
          terminate = true
          break
        }
        connection.authenticated = true
        if (connection.startup !== undefined) batch.push(connection.startup)
        connection.startup = undefined
        continue
      } else if (message[0] === TERMINATE) {
        // Never forwarded: it would end the one session every connection shares.
        terminate = true
        break
      } else if (message[0] === PARSE && batch.length === 0 && answered === false) {
        const { name, text } = parseOf(message)
        if (name !== "" && this.statements.get(name) === text) {
          // The session has it (another connection parsed it): answered here, first in the reply.
          answered = true
          continue
        }
        if (name !== "") {
          parsing = { name, text }
          batch.push(closeStatement(name))
        }
      } else if (message[0] === CLOSE && message[5] === STATEMENT) {
        this.statements.delete(cstring(message, 6)[0])
      } else if (message[0] === QUERY && DROPS_STATEMENTS.test(cstring(message, 5)[0])) {
        this.statements.clear()
      }
      batch.push(message)
    }
    if (answered && !connection.closed) connection.sink.write(PARSE_COMPLETE)
    if (batch.length > 0) {
      const tracker = new ReplyTracker()
      const toClient = (data: Uint8Array) => {
        tracker.feed(data)
        // A copy: a socket that cannot send a large reply at once keeps the bytes to send later, and
        // by then the database has written its next output over this view (the client then read a
        // corrupt stream and waited forever: a 2 MB agent message hung ~1 time in 4).
        if (!connection.closed) connection.sink.write(data.slice())
      }
      try {
        await this.backend.exec(batch.length === 1 ? batch[0]! : concat(batch), parsing === undefined ? toClient : withoutAddedCloseComplete(toClient))
        if (parsing !== undefined && tracker.firstType === PARSE_COMPLETE_TYPE) this.statements.set(parsing.name, parsing.text)
        this.owner = tracker.idle ? undefined : connection
      } catch {
        // The session failed under this connection: drop it; the next one gets a reset session.
        this.owner = connection
        terminate = true
      }
    }
    if (terminate) {
      connection.closed = true
      connection.sink.close()
    }
  }
}

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}
