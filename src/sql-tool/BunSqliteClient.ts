import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, SqlError, Statement } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Database } from "bun:sqlite"
import { Effect, Scope } from "effect"

/**
 * A small `SqlClient` over `bun:sqlite`. @effect/sql-sqlite-bun's newest
 * 3.x-line release (0.50.2) peers on @effect/sql ^0.49 / platform ^0.94, and
 * @effect/sql-sqlite-node needs better-sqlite3's native build: this keeps one
 * @effect/sql (0.52) in the tree. `readonly` opens the file with
 * SQLITE_OPEN_READONLY and `query_only`, so the engine itself refuses writes.
 */
export interface BunSqliteClient extends SqlClient.SqlClient {
  /** Rows changed by the last write on this handle. */
  readonly changes: Effect.Effect<number, SqlError.SqlError>
}

export interface BunSqliteOptions {
  readonly filename: string
  readonly readonly: boolean
}

const fail = (message: string) => (cause: unknown) => new SqlError.SqlError({ cause, message })

export const makeBunSqlite = (options: BunSqliteOptions) =>
  Effect.gen(function*() {
    const db = yield* Effect.try({
      try: () =>
        options.readonly
          ? new Database(options.filename, { readonly: true })
          : new Database(options.filename, { readwrite: true, create: false }),
      catch: fail("Failed to open SQLite database")
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
    if (options.readonly) db.run("PRAGMA query_only = ON")
    // Waits on a writer's lock instead of failing at once.
    db.run("PRAGMA busy_timeout = 2000")

    const run = (sql: string, params: ReadonlyArray<unknown>) =>
      Effect.try({
        // bun:sqlite compiles only the first statement of the text; the guard refuses more than one anyway.
        try: () => db.query(sql).all(...(params as Array<string | number | boolean | null>)) as Array<object>,
        catch: fail("Failed to execute statement")
      })
    const runValues = (sql: string, params: ReadonlyArray<unknown>) =>
      Effect.try({
        try: () => db.query(sql).values(...(params as Array<string | number | boolean | null>)) as Array<Array<unknown>>,
        catch: fail("Failed to execute statement")
      })

    const connection: Connection = {
      execute: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params), transformRows) : run(sql, params),
      executeRaw: (sql, params) => run(sql, params),
      executeValues: (sql, params) => runValues(sql, params),
      executeUnprepared: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params), transformRows) : run(sql, params),
      executeStream: () => Effect.dieMessage("executeStream is not supported by the bun:sqlite client")
    }

    // One handle, one statement at a time: a semaphore serialises users, a transaction holds it throughout.
    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(connection))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))
        ),
        connection
      )
    )

    const client = yield* SqlClient.make({
      acquirer,
      compiler: Statement.makeCompilerSqlite(),
      transactionAcquirer,
      spanAttributes: [["db.system.name", "sqlite"]]
    })
    const extra = {
      changes: Effect.try({
        try: () => Number((db.query("SELECT changes() AS n").get() as { n: number }).n),
        catch: fail("Failed to read changes")
      })
    }
    return Object.assign(client, extra) as BunSqliteClient
  }).pipe(Effect.provide(Reactivity.layer))
