import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { Clock, Deferred, Duration, Effect, Exit, Schedule, Scope } from "effect"
import { makeBunSqlite } from "./BunSqliteClient.ts"
import type { ConnectionTarget } from "./ConnectionTarget.ts"
import { ConnectFailed } from "../domain/SqlTool.ts"
import { connectFailed, type Driver } from "./DriverSupport.ts"
import { makeMssqlDriver } from "./MssqlDriver.ts"
import { makeMysqlDriver } from "./MysqlDriver.ts"
import { makePgDriver } from "./PgDriver.ts"
import { makeSqliteDriver } from "./SqliteDriver.ts"
import { makeSqliteWorkerRunner } from "./SqliteWorkerRunner.ts"
import { SqlToolConfig, type SqlToolConfigShape } from "./SqlToolConfig.ts"

interface Entry {
  readonly driver: Deferred.Deferred<Driver, ConnectFailed>
  readonly scope: Scope.CloseableScope
  lastUsed: number
  inUse: number
}

const CONNECT_TIMEOUT = Duration.seconds(5)

/** Opens the @effect/sql client for a target inside `scope` (closed with the pool entry). */
const openDriver = (
  target: ConnectionTarget,
  writable: boolean,
  config: Pick<SqlToolConfigShape, "poolSize" | "sqliteWorkerIdleMs">,
  scope: Scope.Scope
) => {
  const { poolSize } = config
  const opened: Effect.Effect<Driver, unknown, Scope.Scope | Reactivity.Reactivity> = (() => {
    switch (target.dialect) {
      case "postgres":
        return Effect.map(
          PgClient.make({
            host: target.host,
            port: target.port,
            database: target.database,
            username: target.username,
            password: target.password,
            ssl: ["require", "verify-full", "verify-ca"].includes(target.options.get("sslmode") ?? "")
              // Connected by address (egress policy): the certificate is still checked against the name.
              ? (target.tlsServerName !== undefined ? { servername: target.tlsServerName } : true)
              : undefined,
            maxConnections: poolSize,
            idleTimeout: Duration.seconds(60),
            connectTimeout: CONNECT_TIMEOUT,
            applicationName: "agent-platform-sql-tool"
          }),
          makePgDriver
        )
      case "mysql":
        return Effect.gen(function*() {
          // Drivers load on first use of their engine: tedious alone is ~17 MB and 200 ms at start-up.
          const { MysqlClient } = yield* Effect.promise(() => import("@effect/sql-mysql2"))
          const client = yield* MysqlClient.make({
            host: target.host,
            port: target.port,
            database: target.database,
            username: target.username,
            password: target.password,
            maxConnections: poolSize,
            connectionTTL: Duration.seconds(60),
            poolConfig: { connectTimeout: Duration.toMillis(CONNECT_TIMEOUT) }
          })
          const version = yield* client.unsafe<{ v: string }>("SELECT VERSION() AS v")
          return makeMysqlDriver(client, String(version[0]?.v ?? "").includes("MariaDB") ? "mariadb" : "mysql")
        })
      case "sqlite":
        return Effect.gen(function*() {
          const reader = yield* makeBunSqlite({ filename: target.filename, readonly: true })
          const writer = writable ? yield* makeBunSqlite({ filename: target.filename, readonly: false }) : undefined
          return makeSqliteDriver(reader, writer, yield* makeSqliteWorkerRunner(target.filename, config.sqliteWorkerIdleMs))
        })
      case "mssql":
        return Effect.map(
          Effect.flatMap(Effect.promise(() => import("@effect/sql-mssql")), ({ MssqlClient }) =>
            MssqlClient.make({
            server: target.host,
            port: target.port,
            database: target.database,
            username: target.username,
            password: target.password,
            encrypt: target.options.get("encrypt") === "true",
            trustServer: target.options.get("trustServerCertificate") === "true",
            maxConnections: poolSize,
            connectTimeout: CONNECT_TIMEOUT
          })),
          makeMssqlDriver
        )
    }
  })()
  return opened.pipe(
    Effect.provide(Reactivity.layer),
    Scope.extend(scope),
    Effect.timeoutFail({ duration: Duration.sum(CONNECT_TIMEOUT, Duration.seconds(1)), onTimeout: () => new ConnectFailed({ reason: "connection timed out" }) }),
    Effect.mapError((e) => e instanceof ConnectFailed ? e : connectFailed(e))
  )
}

/**
 * One pool per saved connection, opened on first use and cached by
 * connection id (pool size SQL_TOOL_POOL_SIZE). Closed when the connection
 * is deleted, when idle past SQL_TOOL_POOL_IDLE_MS, and at shutdown.
 */
export class ConnectionPools extends Effect.Service<ConnectionPools>()("SqlTool/ConnectionPools", {
  scoped: Effect.gen(function*() {
    const config = yield* SqlToolConfig
    const entries = new Map<string, Entry>()

    const closeEntry = (id: string, entry: Entry) =>
      Effect.suspend(() => {
        if (entries.get(id) === entry) entries.delete(id)
        return Scope.close(entry.scope, Exit.void)
      })

    // Only the map lookup-or-insert is locked; opening (up to the connect timeout) is not.
    const lock = yield* Effect.makeSemaphore(1)
    const acquire = (id: string, target: ConnectionTarget, writable: boolean) =>
      Effect.gen(function*() {
        const [entry, created] = yield* lock.withPermits(1)(Effect.gen(function*() {
          const existing = entries.get(id)
          if (existing) return [existing, false] as const
          const fresh: Entry = {
            driver: yield* Deferred.make<Driver, ConnectFailed>(),
            scope: yield* Scope.make(),
            lastUsed: yield* Clock.currentTimeMillis,
            inUse: 0
          }
          entries.set(id, fresh)
          return [fresh, true] as const
        }))
        if (created) {
          // Interruptible on purpose: closing a failed tedious pool inside an uninterruptible
          // region never returns (measured); an interrupted open still settles the Deferred.
          yield* openDriver(target, writable, config, entry.scope).pipe(
            Effect.exit,
            Effect.flatMap((opened) =>
              Effect.zipRight(Deferred.done(entry.driver, opened), Exit.isFailure(opened) ? closeEntry(id, entry) : Effect.void)
            ),
            Effect.onInterrupt(() =>
              Effect.zipRight(
                Deferred.fail(entry.driver, new ConnectFailed({ reason: "connection attempt interrupted" })),
                Effect.forkDaemon(closeEntry(id, entry))
              )
            )
          )
        }
        return entry
      })

    /** Runs `f` with the pool of connection `id`, opening it on first use. */
    const withDriver = <A, E, R>(
      id: string,
      target: Effect.Effect<{ readonly target: ConnectionTarget; readonly writable: boolean }, E, R>,
      f: (driver: Driver) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ConnectFailed, R> =>
      Effect.gen(function*() {
        // Opening stays outside acquireUseRelease: its acquire step is uninterruptible.
        const entry = entries.get(id) ?? (yield* Effect.flatMap(target, (t) => acquire(id, t.target, t.writable)))
        return yield* Effect.acquireUseRelease(
          Effect.clockWith((clock) =>
            Effect.sync(() => {
              entry.inUse++
              entry.lastUsed = clock.unsafeCurrentTimeMillis()
            })
          ),
          () => Effect.flatMap(Deferred.await(entry.driver), f),
          () =>
            Effect.clockWith((clock) =>
              Effect.sync(() => {
                entry.inUse--
                entry.lastUsed = clock.unsafeCurrentTimeMillis()
              })
            )
        )
      })

    const close = (id: string) =>
      Effect.suspend(() => {
        const entry = entries.get(id)
        return entry ? closeEntry(id, entry) : Effect.void
      })

    // Idle time is read on Effect's Clock, as the sweep is scheduled: one TestClock drives both.
    const sweep = Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const idle = [...entries].filter(([, e]) => e.inUse === 0 && now - e.lastUsed > config.poolIdleMs)
      return Effect.forEach(idle, ([id, e]) => closeEntry(id, e), { discard: true })
    })
    yield* sweep.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1_000, Math.min(config.poolIdleMs, 30_000))))),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...entries], ([id, e]) => closeEntry(id, e), { discard: true, concurrency: "unbounded" })
    )

    return { withDriver, close, openCount: Effect.sync(() => entries.size) } as const
  })
}) {}
