import { ClusterSchema, type Entity, MessageStorage } from "@effect/cluster"
import type { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Option } from "effect"

/**
 * A handler's write committed in the transaction that stores its reply (issue #19: "at most one
 * commit per message, the reply written in the handler's transaction").
 *
 * A persisted message's handler usually writes its effect in a statement of its own, then the
 * storage writes the reply in another: two commits per message, and the handler's statement is
 * never grouped with other messages'. Here the handler attaches its write to the value it
 * answers; BatchedMessageStorage runs it in the statement that stores that reply, with the
 * writes of every other reply of its group (one commit for all of them). The effect and the
 * reply then commit together or not at all: a message whose reply was not stored runs again
 * with no trace of its effect, so an answered message applied it exactly once.
 *
 * What a handler gives up: the write's result (it answers before the write runs) and a failure
 * of its own (a write that fails fails the reply's storing, which the entity manager retries and
 * then restarts the entity over; use it for writes that cannot fail on the data, like idempotent
 * upserts). Where the reply is not stored by BatchedMessageStorage (a volatile RPC, the library's
 * storage with `CLUSTER_MESSAGE_STORAGE=library`), the write runs at once in the handler, as a
 * statement of its own.
 *
 * The writes travel with the reply's value object (a WeakMap keyed by it): nothing to clean up
 * when a reply is never stored (an interrupt at shutdown; the message runs again), and a
 * handler run again after a defect answers a new object with its own writes.
 */

/** One kind of write, grouped: one statement fragment for every row of a group. */
export interface ReplyWriteKind<Row> {
  /** Unique among kinds: the fragment's cache key. */
  readonly name: string
  /**
   * One or more data-modifying common table expressions (`name AS (INSERT ...)`, comma
   * separated; names unique across kinds, and not `r`, the reply's own) over the group's rows
   * (typed arrays or one JSON array), numbering
   * their parameters from `first`. They run beside the reply's own in one statement, so they
   * see one snapshot: rows of one group must not update the same row twice (aggregate first).
   */
  readonly ctes: (first: number) => string
  /** How many parameters `ctes` numbers. */
  readonly parameterCount: number
  /** Those parameters for `rows`, in the order `ctes` numbers them. */
  readonly parameters: (rows: ReadonlyArray<Row>) => ReadonlyArray<unknown>
}

/**
 * A kind whose rows go to its statement as one JSON array, `$first::jsonb` (read with
 * `jsonb_to_recordset`): for rows with nested values, where typed arrays do not fit.
 */
export const jsonRowsKind = <Row>(name: string, ctes: (rows: string) => string): ReplyWriteKind<Row> => ({
  name,
  parameterCount: 1,
  parameters: (rows) => [JSON.stringify(rows)],
  ctes: (first) => ctes(`$${first}::jsonb`)
})

export interface AttachedWrite {
  readonly kind: ReplyWriteKind<any>
  readonly row: unknown
  /** Runs once the write committed (telling listeners about it), before the caller hears the reply. */
  readonly after: Effect.Effect<void> | undefined
}

const attached = new WeakMap<object, Array<AttachedWrite>>()
const storagesThatCommitThem = new WeakSet<object>()

/** Marks a MessageStorage that runs the writes attached to the replies it stores. */
export const commitsReplyWrites = <S extends object>(storage: S): S => {
  storagesThatCommitThem.add(storage)
  return storage
}

/** The writes attached to a reply's value, if any. */
export const writesOf = (value: unknown): ReadonlyArray<AttachedWrite> | undefined =>
  typeof value === "object" && value !== null ? attached.get(value) : undefined

/**
 * `writes` grouped by kind, the kinds in name order: one fragment per kind, and the same
 * combination of kinds always gives the same statement text (shared with RequestWrites.ts).
 */
export const rowsByKind = <K extends { readonly name: string }, Row>(
  writes: Iterable<{ readonly kind: K; readonly row: Row }>
): Array<{ readonly kind: K; readonly rows: Array<Row> }> => {
  const byKind = new Map<string, { kind: K; rows: Array<Row> }>()
  for (const w of writes) {
    const entry = byKind.get(w.kind.name)
    if (entry) entry.rows.push(w.row)
    else byKind.set(w.kind.name, { kind: w.kind, rows: [w.row] })
  }
  return [...byKind.values()].sort((a, b) => (a.kind.name < b.kind.name ? -1 : 1))
}

/**
 * The fragments and parameters for `writes`, grouped by kind, parameters numbered from
 * `first`: `ctes` is "" when there are none; `key` names the combination of kinds (equal keys,
 * equal text).
 */
export const composeWrites = (writes: ReadonlyArray<AttachedWrite>, first: number) => {
  const kinds = rowsByKind(writes)
  const fragments: Array<string> = []
  const parameters: Array<unknown> = []
  let next = first
  for (const { kind, rows } of kinds) {
    fragments.push(kind.ctes(next))
    next += kind.parameterCount
    parameters.push(...kind.parameters(rows))
  }
  return { key: kinds.map((k) => k.kind.name).join(","), ctes: fragments.join(",\n"), parameters }
}

/** The `after` effects of `writes`, in order; a failing one is logged and does not stop the rest. */
export const runAfter = (writes: ReadonlyArray<AttachedWrite>): Effect.Effect<void> =>
  Effect.forEach(writes, (w) => w.after === undefined ? Effect.void : Effect.catchAllCause(w.after, (cause) =>
    Effect.logWarning("after a reply's write", cause)), { discard: true })

/** `writes` as a statement of their own: where no storage runs them with a reply. */
export const runAlone = (sql: SqlClient.SqlClient, writes: ReadonlyArray<AttachedWrite>) => {
  const { ctes, parameters } = composeWrites(writes, 1)
  return sql.unsafe(`WITH ${ctes}\nSELECT 1`, parameters as Array<unknown>)
}

/**
 * For `entity`'s handlers: `(request, value, kind, row, after?)` answers `value` with `row`
 * written in the transaction that stores its reply when that request is persisted and its reply
 * is stored by a storage that runs such writes; otherwise it writes `row` now and then answers.
 * Either way `after` runs once the write committed, before the caller hears the reply.
 */
export const forEntity = <Type extends string, Rpcs extends Rpc.Any>(entity: Entity.Entity<Type, Rpcs>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const storage = yield* Effect.serviceOption(MessageStorage.MessageStorage)
    const deferrable = Option.isSome(storage) && storagesThatCommitThem.has(storage.value)
    const persisted = new Set<string>()
    for (const [tag, rpc] of entity.protocol.requests) {
      if (Context.get((rpc as unknown as Rpc.AnyWithProps).annotations, ClusterSchema.Persisted)) persisted.add(tag)
    }
    return <A extends object, Row>(
      request: Entity.Request<any>,
      value: A,
      kind: ReplyWriteKind<Row>,
      row: Row,
      after?: Effect.Effect<void>
    ): Effect.Effect<A, SqlError> => {
      const write: AttachedWrite = { kind, row, after }
      if (deferrable && persisted.has(request.tag)) {
        const writes = attached.get(value)
        if (writes) writes.push(write)
        else attached.set(value, [write])
        return Effect.succeed(value)
      }
      return Effect.as(Effect.zipRight(runAlone(sql, [write]), runAfter([write])), value)
    }
  })
