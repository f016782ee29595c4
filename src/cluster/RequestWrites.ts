import { Effect, Option } from "effect"
import { rowsByKind } from "./ReplyWrites.ts"

/**
 * A sender's write committed in the statement that stores its persisted request (issue #19):
 * the request side of ReplyWrites.ts.
 *
 * A persisted message's handler often begins with a write that only needs the request (the
 * Agent entity's `Execute` creates the task it was sent for, and reads the agent and the
 * conversation back). Run by the handler, that is a statement and a commit of its own after
 * the one that stored the message. Here the sender attaches the write to the request it is
 * about to send, BatchedMessageStorage runs it as common table expressions of the statement
 * that stores that request (and the other requests of its group), and what it read comes back
 * to the handler, which then skips its own write. The write runs only when the request is
 * stored by that statement (a duplicate of a stored request writes nothing), so the request
 * and its write commit together or not at all.
 *
 * What comes back is kept in this process only, for the handler of the same request: the
 * handler of a request read back from storage (another runner hosts the entity, a restart, a
 * storage without request writes) finds none and does the work itself, which must then
 * tolerate finding it done (the write's effect committed with the message). The sender's
 * attachment lives while its send runs and is removed when the send ends, answered or not.
 */

/** One kind of write, grouped: one statement fragment for every request of a group that has one. */
export interface RequestWriteKind<Row, Result> {
  /** Unique among kinds: the fragment's cache key and the prefix of its CTE names. */
  readonly name: string
  /**
   * Comma-separated common table expressions over the group's rows, given as `rows`, a jsonb
   * array of objects: the sender's row plus `messageId` (the stored request's `message_id`).
   * They join `stored` (`message_id` of every request this statement stored) to write only for
   * stored requests, and one of them, named `<name>_result`, yields `(message_id text, result
   * json)`: what goes back to each request's handler. CTE names start with `name`.
   */
  readonly ctes: (rows: string) => string
  /** The handler's view of one `result`. */
  readonly decode: (result: unknown) => Effect.Effect<Result, unknown>
}

export interface AttachedRequestWrite {
  readonly kind: RequestWriteKind<any, any>
  readonly row: object
}

interface Attachment extends AttachedRequestWrite {
  result: Option.Option<unknown>
}

/** Attachments by the request's primary key (`Envelope.primaryKey`), while their send runs. */
const attachments = new Map<string, Attachment>()

/** `Envelope.primaryKey` of a request to `entityType`/`entityId` tagged `tag` whose payload's primary key is `id`. */
export const requestKey = (entityType: string, entityId: string, tag: string, id: string) =>
  `${entityType}/${entityId}/${tag}/${id}`

/**
 * Runs `send` (which sends the request keyed `key`, persisted) with `row` written by `kind` in
 * the statement that stores it, when the storage runs request writes; otherwise the handler
 * finds no result and writes it itself. Keys are unique per sent message: a second send of the
 * same key while one runs is sent without a write.
 */
export const withRequestWrite = <Row extends object, A, E, R>(
  key: string,
  kind: RequestWriteKind<Row, unknown>,
  row: Row,
  send: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    if (attachments.has(key)) return send
    const attachment: Attachment = { kind, row, result: Option.none() }
    attachments.set(key, attachment)
    return Effect.ensuring(send, Effect.sync(() => {
      if (attachments.get(key) === attachment) attachments.delete(key)
    }))
  })

/** For the storage: the write attached to the request keyed `key`, if its send is running. */
export const writeFor = (key: string | null): AttachedRequestWrite | undefined =>
  key === null ? undefined : attachments.get(key)

/** For the storage: `result` came back for the request keyed `key` from the statement that stored it. */
export const recordResult = (key: string, write: AttachedRequestWrite, result: unknown) => {
  const attachment = attachments.get(key)
  if (attachment === write) attachment.result = Option.some(result)
}

/**
 * For the handler of the request keyed `key`: what its attached write read back, decoded, when
 * it was written with the request in this process; none otherwise (do the work here).
 */
export const resultOf = <Result>(key: string, kind: RequestWriteKind<any, Result>): Effect.Effect<Option.Option<Result>> =>
  Effect.suspend(() => {
    const attachment = attachments.get(key)
    if (attachment === undefined || attachment.kind !== kind || Option.isNone(attachment.result)) {
      return Effect.succeed(Option.none())
    }
    // Taken once: a handler run again (after a defect) does the work itself.
    const result = attachment.result.value
    attachment.result = Option.none()
    return Effect.option(kind.decode(result))
  })

/**
 * Drops what came back for the request keyed `key` before its handler took it: the handler then
 * reads the state it needs itself (something changed what the write left, e.g. a cancel that
 * reached the entity before the request's handler ran).
 */
export const forget = (key: string) => {
  const attachment = attachments.get(key)
  if (attachment !== undefined) attachment.result = Option.none()
}

/**
 * The fragments for the `writes` of one statement (each with its request's `messageId`),
 * grouped by kind, the rows of each kind in one jsonb parameter numbered from `first`:
 * `ctes` "" when there are none; `results` the union of every kind's result CTE; `key` names
 * the combination of kinds (equal keys, equal text).
 */
export const composeRequestWrites = (
  writes: ReadonlyArray<{ readonly write: AttachedRequestWrite; readonly messageId: string }>,
  first: number
) => {
  const kinds = rowsByKind(writes.map(({ messageId, write }) => ({ kind: write.kind, row: { ...write.row, messageId } })))
  return {
    key: kinds.map((k) => k.kind.name).join(","),
    ctes: kinds.map(({ kind }, i) => kind.ctes(`$${first + i}::jsonb`)).join(",\n"),
    results: kinds.map(({ kind }) => `SELECT message_id, result FROM ${kind.name}_result`).join("\nUNION ALL "),
    parameters: kinds.map(({ rows }) => JSON.stringify(rows))
  }
}
