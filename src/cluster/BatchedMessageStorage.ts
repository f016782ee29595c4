import {
  DeliverAt,
  Envelope,
  Message,
  MessageStorage,
  Reply,
  ShardId,
  type ShardingConfig,
  Snowflake,
  SqlMessageStorage
} from "@effect/cluster"
import { PersistenceError } from "@effect/cluster/ClusterError"
import type { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Schedule } from "effect"
import { createHash } from "node:crypto"
import { groupCommit } from "../db/GroupCommit.ts"
import { isDatabaseUnavailable } from "../kernel/DatabaseUnavailable.ts"
import { type AttachedWrite, commitsReplyWrites, composeWrites, runAfter, writesOf } from "./ReplyWrites.ts"
import {
  exitGroupStatement,
  type ExitRow,
  exitRows,
  insertRequestsStatement,
  requestWritesStatement
} from "./MessageStorageStatements.ts"
import { type AttachedRequestWrite, composeRequestWrites, recordResult, writeFor } from "./RequestWrites.ts"

/**
 * @effect/cluster's SQL message storage with the two writes every persisted message makes
 * batched: concurrent `saveRequest`s become one multi-row INSERT and concurrent final replies
 * one statement that inserts the replies and marks their requests processed. One statement
 * is one transaction and one commit for the whole group, where the library runs one INSERT
 * per request and a BEGIN/UPDATE/INSERT/COMMIT per reply. Everything else (reads, polls,
 * envelopes, stream chunks, duplicates, migrations) is the library's own SqlMessageStorage.
 * A handler's write attached to its reply (ReplyWrites.ts) runs in the statement that stores
 * the reply, so a message that writes costs one commit, shared with its group; a sender's
 * write attached to its request (RequestWrites.ts) runs in the statement that stores the
 * request, and what it read goes back to the request's handler.
 *
 * Batching is group commit (src/db/GroupCommit.ts), not a timer: a write goes to the database
 * at once when none of its kind is in flight; writes that arrive meanwhile wait for that
 * statement and go together in the next one. A caller is answered only after its statement committed, so an
 * acknowledged message is as durable as with the library. When a group's statement fails,
 * each of its writes is retried alone through the library so one bad row fails only itself.
 *
 * PostgreSQL only (unnest over typed arrays). Upstream note: SqlMessageStorage could batch
 * the same way inside its `saveEnvelope` / `saveReply` (pg and the other dialects with
 * multi-row VALUES); this file can go once it does.
 */

/** Concurrent statements of one kind: one in flight while the next group gathers. */
const IN_FLIGHT = 2
/** Rows per statement: bounds the parameter arrays and a failed group's retries. */
const MAX_GROUP = 512

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex")

/**
 * A reply is stored until the database takes it, however long it is unreachable. The entity
 * manager gives a reply's storing 5 tries 200 ms apart and then gives up on the request
 * without restarting it: the request stays "in progress" in its entity, the storage poll skips
 * it, and an acknowledged message is never answered (issue #19: a PostgreSQL restart under
 * load left some so, once handlers wrote with their reply and so answered before any I/O).
 * Retried here, the answer (and the writes attached to it) is stored once the database is
 * back; an interrupt (the entity or its shard going away) still stops it, and the message is
 * then run again from storage. Other failures (a bad row) fail as before.
 * Upstream note: the entity manager could restart a request whose reply could not be stored.
 */
const untilStored = Schedule.exponential("100 millis").pipe(
  Schedule.modifyDelay((_, d) => Duration.min(d, Duration.seconds(5)))
)

type RequestRow = {
  readonly message: Message.OutgoingRequest<any>
  readonly id: string
  readonly messageId: string | null
  readonly shardId: string
  readonly entityType: string
  readonly entityId: string
  readonly tag: string
  readonly payload: string
  readonly headers: string
  readonly traceId: string | null
  readonly spanId: string | null
  readonly sampled: boolean | null
  readonly deliverAt: number | null
  /** The primary key (`Envelope.primaryKey`) a sender's write is attached under. */
  readonly key: string | null
  readonly write: AttachedRequestWrite | undefined
}

type ExitItem = {
  readonly row: ExitRow
  readonly reply: Reply.ReplyWithContext<any>
  readonly writes: ReadonlyArray<AttachedWrite> | undefined
}

export const make = (options?: { readonly prefix?: string | undefined }) =>
  Effect.gen(function*() {
    const library = yield* SqlMessageStorage.make(options)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const prefix = options?.prefix ?? "cluster"
    const messages = `${prefix}_messages`
    const replies = `${prefix}_replies`

    const insertPlain = insertRequestsStatement(messages, "id::text")

    const insertExits = exitGroupStatement(messages, replies)

    // The statement's text per combination of write kinds.
    const withRequestWrites = new Map<string, string>()
    const requestStatement = (rows: ReadonlyArray<RequestRow>) => {
      const columns = [
        rows.map((r) => r.id),
        rows.map((r) => r.messageId),
        rows.map((r) => r.shardId),
        rows.map((r) => r.entityType),
        rows.map((r) => r.entityId),
        rows.map((r) => r.tag),
        rows.map((r) => r.payload),
        rows.map((r) => r.headers),
        rows.map((r) => r.traceId),
        rows.map((r) => r.spanId),
        rows.map((r) => r.sampled),
        rows.map((r) => r.deliverAt)
      ]
      const written: Array<{ readonly write: AttachedRequestWrite; readonly messageId: string }> = []
      const seen = new Set<string>()
      for (const r of rows) {
        // One write per message id: a request sent twice in one group is stored once.
        if (r.write !== undefined && r.messageId !== null && !seen.has(r.messageId)) {
          seen.add(r.messageId)
          written.push({ write: r.write, messageId: r.messageId })
        }
      }
      if (written.length === 0) {
        return Effect.map(sql.unsafe<{ id: string }>(insertPlain, columns), (inserted) => ({
          stored: new Set(inserted.map((r) => r.id)),
          results: []
        }))
      }
      const composed = composeRequestWrites(written, columns.length + 1)
      let text = withRequestWrites.get(composed.key)
      if (text === undefined) {
        text = requestWritesStatement(messages, composed)
        withRequestWrites.set(composed.key, text)
      }
      return Effect.map(
        sql.unsafe<{ what: string; value: string; result: unknown }>(text, [...columns, ...composed.parameters]),
        (out) => ({
          stored: new Set(out.filter((o) => o.what === "stored").map((o) => o.value)),
          results: out.filter((o) => o.what === "result")
        })
      )
    }

    /** Runs `rows`' statement; answers each row (undefined: not stored, its primary key was there). */
    const storeRequests = (rows: ReadonlyArray<RequestRow>) =>
      Effect.map(requestStatement(rows), ({ results, stored }) => {
        if (results.length > 0) {
          const byMessageId = new Map(rows.map((r) => [r.messageId, r] as const))
          for (const { result, value } of results) {
            const row = byMessageId.get(value)
            if (row?.key != null && row.write !== undefined) recordResult(row.key, row.write, result)
          }
        }
        return rows.map((r) => (stored.has(r.id) ? MessageStorage.SaveResult.Success() : undefined))
      })

    // Not stored by our statement: the library's saveRequest reads back the original (a duplicate).
    const librarySaveRequest = (row: RequestRow) =>
      Effect.catchTag(library.saveRequest(row.message), "MalformedMessage", (e) => new PersistenceError({ cause: e }))

    const saveRequestGroup = yield* groupCommit<RequestRow, MessageStorage.SaveResult<any>, never, PersistenceError>({
      inFlight: IN_FLIGHT,
      maxGroup: MAX_GROUP,
      run: storeRequests,
      // Alone: through the library, or with its write in a statement of one request.
      single: (row) =>
        row.write === undefined ? librarySaveRequest(row) : storeRequests([row]).pipe(
          Effect.catchTag("SqlError", (e) => new PersistenceError({ cause: e })),
          Effect.flatMap(([saved]) => saved === undefined ? librarySaveRequest(row) : Effect.succeed(saved))
        )
    })

    // The group's statement with its handlers' writes, its text kept per combination of kinds.
    const withWrites = new Map<string, string>()
    const exitStatement = (items: ReadonlyArray<ExitItem>) => {
      const exits = [exitRows(items.map((i) => i.row))]
      const writes = items.flatMap((i) => i.writes ?? [])
      if (writes.length === 0) return sql.unsafe(insertExits, exits)
      const composed = composeWrites(writes, exits.length + 1)
      let text = withWrites.get(composed.key)
      if (text === undefined) {
        text = exitGroupStatement(messages, replies, composed.ctes)
        withWrites.set(composed.key, text)
      }
      return sql.unsafe(text, [...exits, ...composed.parameters])
    }

    const saveExitGroup = yield* groupCommit<ExitItem, true, never, PersistenceError>({
      inFlight: IN_FLIGHT,
      maxGroup: MAX_GROUP,
      run: (items) => Effect.as(exitStatement(items), items.map(() => true as const)),
      // Alone: through the library, or with its writes as the group statement of one reply.
      single: (item) =>
        Effect.as(
          item.writes === undefined
            ? libraryEncodedSaveReply(item.reply)
            : Effect.catchTag(exitStatement([item]), "SqlError", (e) => new PersistenceError({ cause: e })),
          true as const
        )
    })

    // The library's own saveReply without its reply-handler dispatch (ours does that).
    const libraryEncodedSaveReply = (reply: Reply.ReplyWithContext<any>) =>
      Effect.catchTag(library.saveReply(reply), "MalformedMessage", (e) => new PersistenceError({ cause: e }))

    // The payload's encoding is kept on the message (the library's own cache field): the
    // direct local delivery (patches/@effect%2Fcluster@*.patch) re-serializes it to hand the
    // entity a decoded copy, and a retried send re-serializes it too.
    const cacheEncoded = (message: Message.OutgoingRequest<any>) =>
      Effect.map(Message.serialize(message), (encoded) => {
        message.encodedCache = encoded as Envelope.Request.PartialEncoded
      })

    const toRow = (message: Message.OutgoingRequest<any>) =>
      Effect.map(Effect.zipRight(cacheEncoded(message), Message.serializeEnvelope(message)), (envelope): RequestRow => {
        const request = envelope as Envelope.Request.Encoded
        const primaryKey = Envelope.primaryKey(message.envelope)
        return {
          message,
          id: request.requestId,
          messageId: primaryKey === null ? null : primaryKey.length <= 255 ? primaryKey : sha256Hex(primaryKey),
          shardId: ShardId.ShardId.toString(request.address.shardId),
          entityType: request.address.entityType,
          entityId: request.address.entityId,
          tag: request.tag,
          payload: JSON.stringify(request.payload),
          headers: JSON.stringify(request.headers),
          traceId: request.traceId ?? null,
          spanId: request.spanId ?? null,
          sampled: request.sampled ?? null,
          deliverAt: DeliverAt.toMillis(message.envelope.payload),
          key: primaryKey,
          write: writeFor(primaryKey)
        }
      })

    // Requests read back from storage answer through the storage that read them: the
    // library's would save the reply past our batching and past our reply handlers (so a
    // locally sent message would never hear its reply). Re-point them at ours.
    const answeredHere = <R extends Rpc.Any>(messages: Array<Message.Incoming<R>>) => {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]
        if (message._tag === "IncomingRequest") {
          messages[i] = new Message.IncomingRequest({
            envelope: message.envelope,
            lastSentReply: message.lastSentReply,
            respond: (reply) => storage.saveReply(reply)
          })
        }
      }
      return messages
    }

    const saveReply = (reply: Reply.ReplyWithContext<any>) => {
      const sent = reply.reply
      const writes = sent._tag === "WithExit" && sent.exit._tag === "Success" ? writesOf(sent.exit.value) : undefined
      return sent._tag === "WithExit"
        ? Effect.flatMap(Reply.serialize(reply), (encoded) =>
          saveExitGroup({
            reply,
            writes,
            row: {
              id: String(encoded.id),
              requestId: String(encoded.requestId),
              payload: JSON.stringify((encoded as Reply.WithExitEncoded<any>).exit)
            }
          }).pipe(Effect.zipRight(writes === undefined ? Effect.void : runAfter(writes))))
        : libraryEncodedSaveReply(reply)
    }

    const storage: MessageStorage.MessageStorage["Type"] = commitsReplyWrites(yield* MessageStorage.make({
      ...library,
      unprocessedMessages: (shardIds) => Effect.map(library.unprocessedMessages(shardIds), answeredHere),
      unprocessedMessagesById: (ids) => Effect.map(library.unprocessedMessagesById(ids), answeredHere),
      saveRequest: (message) => Effect.flatMap(toRow(message), saveRequestGroup),
      saveReply: (reply) => Effect.retry(saveReply(reply), { schedule: untilStored, while: isDatabaseUnavailable })
    }))
    return storage
  })

/** MessageStorage for the cluster's layers, in place of `SqlMessageStorage.layer`. */
export const layer: Layer.Layer<MessageStorage.MessageStorage, never, SqlClient.SqlClient | ShardingConfig.ShardingConfig> =
  Layer.scoped(MessageStorage.MessageStorage, make()).pipe(Layer.provide(Snowflake.layerGenerator))
