import { Effect, Either, Option, Redacted } from "effect"
import { requireOperator, requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ProjectQuotas } from "../auth/ProjectQuotas.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { CurrentUser } from "../domain/Identity.ts"
import { BadRequest, Conflict, Forbidden, GatewayTimeout, NotFound, ServiceUnavailable } from "../kernel/WireErrors.ts"
import { ConnectionPools } from "./ConnectionPools.ts"
import { ConnectionRepo, type StoredConnection } from "./ConnectionRepo.ts"
import { ConnectionSecrets } from "./ConnectionSecrets.ts"
import { type ConnectionTarget, describeTarget, parseConnectionString } from "./ConnectionTarget.ts"
import { EGRESS_REFUSED, type EgressDenied, EgressPolicy } from "../net/EgressPolicy.ts"
import {
  type ConnectFailed,
  type CreateConnectionRequest,
  ExplainResult,
  QueryFailed,
  QueryResult,
  type QueryRejected,
  SchemaInfo,
  type SqlParam,
  type StatementTimedOut
} from "../domain/SqlTool.ts"
import type { Driver, DriverError } from "./DriverSupport.ts"
import { guardStatement } from "./SqlGuard.ts"
import { confineSqlitePath } from "./SqlitePaths.ts"
import { SqlToolConfig } from "./SqlToolConfig.ts"

export type SqlToolError =
  | QueryRejected
  | QueryFailed
  | NotFound
  | Forbidden
  | ServiceUnavailable
  | GatewayTimeout

const unreachableReasons = new Set(["connection refused", "host not found", "connection timed out", "connection failed"])

/** Internal driver failures in the caller's terms: unreachable → 503, too slow → 504. */
const toWire = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, ConnectFailed | StatementTimedOut> | ServiceUnavailable | GatewayTimeout, R> =>
  Effect.catchAll(effect, (e): Effect.Effect<never, Exclude<E, ConnectFailed | StatementTimedOut> | ServiceUnavailable | GatewayTimeout> => {
    if (e._tag === "ConnectFailed") {
      const reason = (e as unknown as ConnectFailed).reason
      // Network-level reasons read as the egress policy's one text: no telling open ports from closed ones.
      const shown = unreachableReasons.has(reason) ? EGRESS_REFUSED : reason
      return Effect.fail(new ServiceUnavailable({ message: `could not connect to the database: ${shown}` }))
    }
    if (e._tag === "StatementTimedOut") {
      const ms = (e as unknown as StatementTimedOut).timeoutMs
      return Effect.fail(new GatewayTimeout({ message: `statement timed out after ${ms} ms` }))
    }
    return Effect.fail(e as Exclude<E, ConnectFailed | StatementTimedOut>)
  })

export interface RunOptions {
  readonly sql: string
  readonly params: ReadonlyArray<SqlParam>
  readonly mode: "read" | "write"
  readonly maxRows?: number | undefined
  readonly timeoutMs?: number | undefined
}

/**
 * Connections, execution, schema and EXPLAIN. The `*For` functions are the
 * core without a caller (SqlQueryTool runs them read-only for an agent);
 * the others check the caller's project role first.
 */
export class SqlToolService extends Effect.Service<SqlToolService>()("SqlTool/SqlToolService", {
  effect: Effect.gen(function*() {
    const repo = yield* ConnectionRepo
    const secrets = yield* ConnectionSecrets
    const pools = yield* ConnectionPools
    const config = yield* SqlToolConfig
    const egress = yield* EgressPolicy
    const app = yield* AppConfig
    const quotas = yield* ProjectQuotas
    const schemaCache = new Map<string, SchemaInfo>()

    /** A `v1` secret (maybe sealed with the key that used to be in the source) is sealed again with the current key. */
    const reseal = (id: string, projectId: string, blob: string, plaintext: Redacted.Redacted<string>) =>
      Effect.flatMap(secrets.seal(plaintext, [projectId, id]), (fresh) => repo.replaceSecret(id, blob, fresh))

    // Existing rows are re-sealed once at start-up, so the old source key opens nothing from then on.
    const stale = yield* repo.allSecrets.pipe(
      Effect.flatMap(Effect.forEach((row) =>
        secrets.openChecked(row.secret, [row.projectId, row.id]).pipe(
          Effect.flatMap((opened) => opened.stale ? Effect.as(reseal(row.id, row.projectId, row.secret, opened.secret), 1) : Effect.succeed(0)),
          Effect.orElseSucceed(() => 0)
        ))),
      Effect.map((counts) => counts.reduce((a, b) => a + b, 0)),
      // Not fatal: a row the pass missed is re-sealed when it is first read (targetOf).
      Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("SQL connection secrets re-seal pass failed", cause), 0))
    )
    if (stale > 0) yield* Effect.logInfo("SQL connection secrets re-sealed with the current key").pipe(Effect.annotateLogs({ count: stale }))

    /**
     * The target with its host replaced by the address the egress policy
     * checked (loopback, private and link-local only when EGRESS_ALLOW admits
     * them): the driver connects there and never resolves the name again.
     */
    const pinned = (target: ConnectionTarget): Effect.Effect<ConnectionTarget, EgressDenied> =>
      target.dialect === "sqlite"
        ? Effect.succeed(target)
        : Effect.map(egress.checkHost(target.host, target.port), (checked) => ({
          ...target,
          host: checked.address,
          tlsServerName: checked.host === checked.address ? undefined : checked.host
        }))

    /**
     * Checked again at every pool open: a SQLite path no operator approved must
     * still be inside the project's directory or an allowed one (rows saved
     * before confinement existed included).
     */
    const confinedUnlessApproved = (stored: StoredConnection, target: ConnectionTarget) =>
      target.dialect !== "sqlite" || stored.approved
        ? Effect.void
        : Either.match(
          confineSqlitePath({
            filename: target.filename,
            dataDir: app.dataDir,
            projectId: stored.info.projectId,
            allowDirs: config.sqliteAllowDirs,
            operator: false
          }),
          {
            onLeft: () =>
              Effect.fail(new ServiceUnavailable({ message: "this SQLite file is outside the project's directory; an operator must create the connection" })),
            onRight: () => Effect.void
          }
        )

    const targetOf = (stored: StoredConnection) =>
      secrets.openChecked(stored.secret, [stored.info.projectId, stored.info.id]).pipe(
        Effect.mapError(() => new ServiceUnavailable({ message: "stored connection cannot be decrypted with the configured key" })),
        // A row written by an older node after the start-up pass: re-sealed on first read.
        Effect.tap((opened) =>
          opened.stale ? reseal(stored.info.id, stored.info.projectId, stored.secret, opened.secret) : Effect.void
        ),
        Effect.map((opened) => opened.secret),
        Effect.flatMap((secret) =>
          Either.match(parseConnectionString(Redacted.value(secret)), {
            onLeft: () => Effect.fail(new ServiceUnavailable({ message: "stored connection is unreadable" })),
            onRight: (target) =>
              Effect.zipRight(
                confinedUnlessApproved(stored, target),
                pinned(target).pipe(
                  Effect.mapError(() => new ServiceUnavailable({ message: `could not connect to the database: ${EGRESS_REFUSED}` })),
                  // A writable row no operator created (from before approvals) is used read-only.
                  Effect.map((checked) => ({ target: checked, writable: stored.info.writable && stored.approved }))
                )
              )
          })
        )
      )

    // A budget of statements in flight, global and per project: each holds up to
    // SQL_TOOL_MAX_RESULT_BYTES and a target connection, so the sum stays bounded and one
    // tenant's burst waits (then 503) instead of crowding out the others.
    const budget = yield* Effect.makeSemaphore(config.maxConcurrent)
    const projectBudgets = new Map<string, Effect.Semaphore>()
    const projectBudget = (projectId: string) => {
      let semaphore = projectBudgets.get(projectId)
      if (semaphore === undefined) {
        semaphore = Effect.unsafeMakeSemaphore(config.maxConcurrentPerProject)
        projectBudgets.set(projectId, semaphore)
      }
      return semaphore
    }
    const slot = (semaphore: Effect.Semaphore) =>
      Effect.uninterruptibleMask((restore) =>
        restore(semaphore.take(1)).pipe(
          Effect.timeoutFail({
            duration: config.defaultTimeoutMs,
            onTimeout: () => new ServiceUnavailable({ message: "the SQL tool is busy: too many statements in flight; try again" })
          }),
          Effect.zipRight(Effect.addFinalizer(() => semaphore.release(1)))
        )
      )

    const withDriver = <A>(
      stored: StoredConnection,
      f: (driver: Driver) => Effect.Effect<A, DriverError | ServiceUnavailable>
    ) =>
      Effect.scoped(Effect.zipRight(
        Effect.zipRight(slot(projectBudget(stored.info.projectId)), slot(budget)),
        pools.withDriver(stored.info.id, targetOf(stored), f)
      ))

    const notFound = () => new NotFound({ message: "sql connection not found" })

    const findIn = (projectId: string, idOrName: string) =>
      Effect.flatMap(repo.find(idOrName), (found) =>
        Option.isSome(found) && found.value.info.projectId === projectId
          ? Effect.succeed(found.value)
          : Effect.flatMap(repo.findByName(projectId, idOrName), Option.match({
            onNone: () => Effect.fail(notFound()),
            onSome: Effect.succeed
          })))

    const executeFor = Effect.fn("SqlTool.execute")(function*(stored: StoredConnection, options: RunOptions) {
      const started = performance.now()
      const stmt = yield* guardStatement(stored.info.dialect, options.sql, options.mode)
      const limits = {
        maxRows: options.maxRows ?? config.defaultMaxRows,
        timeoutMs: options.timeoutMs ?? config.defaultTimeoutMs,
        maxResultBytes: config.maxResultBytes,
        maxValueBytes: Math.min(config.maxValueBytes, config.maxResultBytes)
      }
      const raw = yield* toWire(withDriver(stored, (driver) =>
        options.mode === "read" ? driver.read(stmt, options.params, limits) : driver.write(stmt, options.params, limits)))
      if (options.mode === "write") schemaCache.delete(stored.info.id)
      return new QueryResult({ ...raw, mode: options.mode, elapsedMs: Math.round((performance.now() - started) * 100) / 100 })
    })

    const explainFor = Effect.fn("SqlTool.explain")(function*(
      stored: StoredConnection,
      options: { readonly sql: string; readonly params: ReadonlyArray<SqlParam>; readonly analyze: boolean }
    ) {
      // ANALYZE runs the statement: it passes the read-only guard and runs in a read-only transaction.
      const stmt = yield* guardStatement(stored.info.dialect, options.sql, "read")
      const raw = yield* toWire(withDriver(stored, (driver) =>
        driver.explain(stmt, options.params, {
          analyze: options.analyze,
          timeoutMs: config.defaultTimeoutMs,
          largeTableRows: config.largeTableRows
        })))
      return new ExplainResult({ dialect: stored.info.dialect, analyzed: options.analyze, ...raw })
    })

    const schemaFor = Effect.fn("SqlTool.schema")(function*(stored: StoredConnection, refresh: boolean) {
      const cached = schemaCache.get(stored.info.id)
      if (!refresh && cached && Date.now() - Date.parse(cached.cachedAt) < config.schemaCacheMs) return cached
      const tables = yield* toWire(withDriver(stored, (driver) => driver.introspect))
      const info = new SchemaInfo({
        connectionId: stored.info.id,
        dialect: stored.info.dialect,
        tables,
        cachedAt: new Date().toISOString()
      })
      schemaCache.set(stored.info.id, info)
      return info
    })

    // --- caller-checked operations (HTTP) ---

    const resolveFor = (id: string, minimum: "viewer" | "developer" | "admin") =>
      Effect.flatMap(repo.find(id), Option.match({
        onNone: () => Effect.fail(notFound()),
        onSome: (stored) => Effect.as(requireProjectRole(stored.info.projectId, minimum, "sql connection"), stored)
      }))

    /** Write mode and EXPLAIN ANALYZE: admins only, on connections saved as writable. */
    const requireWrite = (stored: StoredConnection) =>
      Effect.zipRight(
        requireProjectRole(stored.info.projectId, "admin", "sql connection"),
        stored.info.writable && stored.approved
          ? Effect.void
          : Effect.fail(new Forbidden({ message: "this connection is read-only; write mode needs a connection saved as writable" }))
      )

    const sqliteFileFor = (projectId: string, filename: string, operator: boolean) =>
      Either.match(
        confineSqlitePath({ filename, dataDir: app.dataDir, projectId, allowDirs: config.sqliteAllowDirs, operator }),
        {
          onLeft: (refused) =>
            Effect.fail(refused.status === 403 ? new Forbidden({ message: refused.message }) : new BadRequest({ message: refused.message })),
          onRight: Effect.succeed
        }
      )

    const create = Effect.fn("SqlTool.createConnection")(function*(request: CreateConnectionRequest) {
      yield* requireProjectRole(request.projectId, "admin")
      yield* quotas.ensureRoom("sqlConnectionsPerProject", request.projectId)
      const user = yield* CurrentUser
      // Writing through a connection is a host-level capability: an operator pre-approves it.
      if (request.writable) yield* requireOperator("a writable SQL connection")
      const parsed = yield* Either.match(parseConnectionString(Redacted.value(request.connectionString)), {
        onLeft: (message) => Effect.fail(new BadRequest({ message })),
        onRight: Effect.succeed
      })
      const target = parsed.dialect === "sqlite"
        ? { dialect: "sqlite" as const, filename: yield* sqliteFileFor(request.projectId, parsed.filename, user.operator) }
        : parsed
      // SQLite: what is sealed is the confined, resolved path, not what the caller typed.
      const connectionString = target.dialect === "sqlite"
        ? Redacted.make(`sqlite:${encodeURI(target.filename)}`)
        : request.connectionString
      const checked = yield* pinned(target).pipe(Effect.mapError(() => new BadRequest({ message: EGRESS_REFUSED })))
      const id = crypto.randomUUID()
      const secret = yield* secrets.seal(connectionString, [request.projectId, id])
      if (request.verify) {
        yield* pools.withDriver(id, Effect.succeed({ target: checked, writable: request.writable }), (d) => d.ping).pipe(
          toWire,
          Effect.tapError(() => pools.close(id))
        )
      }
      const saved = yield* repo.insert({
        id,
        projectId: request.projectId,
        name: request.name,
        dialect: target.dialect,
        target: describeTarget(target),
        secret,
        writable: request.writable,
        createdBy: user.userId,
        approvedBy: user.operator ? user.userId : null
      })
      if (Option.isNone(saved)) {
        yield* pools.close(id)
        return yield* Effect.fail(new Conflict({ message: `a connection named ${request.name} already exists in this project` }))
      }
      yield* Effect.logInfo("sql connection created").pipe(
        Effect.annotateLogs({ connectionId: id, dialect: target.dialect, target: saved.value.info.target })
      )
      return saved.value.info
    })

    const list = (projectId: string | undefined) =>
      projectId === undefined
        ? Effect.flatMap(visibleProjectIds, repo.listForProjects)
        : Effect.zipRight(requireProjectRole(projectId, "viewer"), repo.listForProjects([projectId]))

    const remove = Effect.fn("SqlTool.deleteConnection")(function*(id: string) {
      const stored = yield* resolveFor(id, "admin")
      yield* repo.remove(stored.info.id)
      yield* pools.close(stored.info.id)
      schemaCache.delete(stored.info.id)
    })

    const execute = (id: string, options: RunOptions) =>
      Effect.gen(function*() {
        const stored = yield* resolveFor(id, "developer")
        if (options.mode === "write") yield* requireWrite(stored)
        return yield* executeFor(stored, options)
      })

    const explain = (id: string, options: { readonly sql: string; readonly params: ReadonlyArray<SqlParam>; readonly analyze: boolean }) =>
      Effect.gen(function*() {
        const stored = yield* resolveFor(id, "developer")
        if (options.analyze) yield* requireWrite(stored)
        return yield* explainFor(stored, options)
      })

    const schema = (id: string, refresh: boolean) => Effect.flatMap(resolveFor(id, "viewer"), (s) => schemaFor(s, refresh))

    return {
      create,
      list,
      remove,
      execute,
      explain,
      schema,
      findIn,
      executeFor,
      explainFor,
      schemaFor
    } as const
  }),
  dependencies: [ConnectionRepo.Default, ConnectionSecrets.Default, ConnectionPools.Default]
}) {}
