import { SqlClient } from "@effect/sql"
import { Chunk, Deferred, Duration, Effect, Layer, Metric, MetricLabel, Option, Queue, Schema } from "effect"
import { A2AFlowRecorder, type A2AFlow } from "./A2AFlows.ts"
import { A2AMetrics } from "./Metrics.ts"
import { A2AGraph } from "../domain/A2AFlow.ts"

export interface A2AQuery {
  readonly projectIds: ReadonlyArray<string> | "all"
  readonly from?: Date | undefined
  readonly to?: Date | undefined
  readonly agent?: string | undefined
}

type FlowRow = {
  readonly fromAgent: string
  readonly toAgent: string
  readonly method: string
  readonly durationMs: number
  readonly status: A2AFlow["status"]
  readonly error: string | null
  readonly projectId: string | null
  readonly traceId: string | null
}

/** Rows one INSERT writes at most (8 columns each, far below PostgreSQL's 65,535 parameters). */
const MAX_BATCH = 500
/** How long the writer gathers rows after the first before it writes them. */
const GATHER = Duration.millis(100)
/**
 * Rows waiting at most: past it a hop's row is dropped (and logged), like spans past the
 * span buffer's capacity — a database that is down, or hops faster than the writer, must
 * not grow this process's memory without bound.
 */
const MAX_QUEUED = 20_000

/**
 * SQL side of agent-to-agent flows: every hop one a2a_flows row; the graph is aggregated on read.
 * A hop does not wait for its row: rows are queued and written by one background writer,
 * those of a 100 ms window in one statement, and `graph` first waits for the rows
 * queued before it, so a reader of this node sees every hop it recorded.
 */
export class A2AFlowStore extends Effect.Service<A2AFlowStore>()("Observability/A2AFlowStore", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const queue = yield* Effect.acquireRelease(Queue.dropping<FlowRow>(MAX_QUEUED), Queue.shutdown)
    let queued = 0
    let dropped = 0
    let written = 0
    const waiters = new Set<{ readonly upTo: number; readonly done: Deferred.Deferred<void> }>()

    const write = (rows: ReadonlyArray<FlowRow>) =>
      rows.length === 0 ? Effect.void : sql`INSERT INTO a2a_flows ${sql.insert(rows)}`.pipe(
        // Observability must never fail the hop it observes: a row that cannot be written is logged and dropped.
        Effect.catchAllCause((cause) => Effect.logWarning("recording A2A flows failed", cause))
      )
    // Rows taken off the queue and not written yet: the shutdown finalizer writes them too.
    let held: Array<FlowRow> = []
    const writeBatch = Effect.gen(function*() {
      held = [yield* Queue.take(queue)]
      // Hops one at a time would each cost a statement: the rows of the next moment go with the first one.
      yield* Effect.sleep(GATHER)
      const rows = held.concat(Chunk.toReadonlyArray(yield* Queue.takeUpTo(queue, MAX_BATCH - 1)))
      held = []
      yield* write(rows)
      written += rows.length
      for (const w of waiters) {
        if (w.upTo > written) continue
        waiters.delete(w)
        yield* Deferred.succeed(w.done, undefined)
      }
    })
    // Added before the writer is forked, so run after it stopped: rows still queued at shutdown are written.
    yield* Effect.addFinalizer(() => Effect.flatMap(Queue.takeAll(queue), (rows) => write([...held, ...Chunk.toReadonlyArray(rows)])))
    yield* Effect.forkScoped(Effect.forever(writeBatch))

    /** Waits until every row queued before this call is written (or dropped). */
    const flushed = Effect.suspend(() => {
      if (written >= queued) return Effect.void
      return Effect.flatMap(Deferred.make<void>(), (done) => {
        waiters.add({ upTo: queued, done })
        return Deferred.await(done)
      })
    })

    const record = (flow: A2AFlow) =>
      Effect.gen(function*() {
        const span = yield* Effect.option(Effect.currentSpan)
        const traceId = flow.traceId ?? Option.getOrNull(Option.map(span, (s) => s.traceId))
        const accepted = yield* Queue.offer(queue, {
          fromAgent: flow.from,
          toAgent: flow.to,
          method: flow.method,
          durationMs: flow.durationMs,
          status: flow.status,
          error: flow.error?.slice(0, 500) ?? null,
          projectId: flow.projectId,
          traceId
        })
        // Only rows in the queue count: `graph` waits until the writer has written that many.
        if (accepted) queued++
        else if (++dropped % 1000 === 1) {
          // One line per thousand: a flood of hops must not become a flood of log lines.
          yield* Effect.logWarning("A2A flow rows dropped: the writer is behind").pipe(Effect.annotateLogs({ dropped, queued: MAX_QUEUED }))
        }
        yield* Metric.increment(A2AMetrics.messages).pipe(
          Effect.tagMetrics({ from: flow.from, to: flow.to, status: flow.status, ...(flow.projectId ? { project: flow.projectId } : {}) })
        )
      }).pipe(
        // Observability must never fail the hop it observes.
        Effect.catchAllCause((cause) => Effect.logWarning("recording an A2A flow failed", cause))
      )

    const graph = (query: A2AQuery) =>
      Effect.gen(function*() {
        yield* flushed
        const conditions = []
        if (query.projectIds !== "all") {
          conditions.push(query.projectIds.length === 0 ? sql`FALSE` : sql`project_id IN ${sql.in(query.projectIds)}`)
        }
        if (query.from) conditions.push(sql`created_at >= ${query.from}`)
        if (query.to) conditions.push(sql`created_at <= ${query.to}`)
        if (query.agent) conditions.push(sql`(from_agent = ${query.agent} OR to_agent = ${query.agent})`)
        const where = conditions.length > 0 ? sql`WHERE ${sql.and(conditions)}` : sql``
        const rows = yield* sql<{
          fromAgent: string
          toAgent: string
          methods: Array<string>
          count: string | number
          errorCount: string | number
          p50: number
          p95: number
          avgMs: number
          lastAt: Date | string
        }>`
          SELECT from_agent, to_agent, array_agg(DISTINCT method) AS methods, count(*) AS count,
                 count(*) FILTER (WHERE status = 'error') AS error_count,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                 avg(duration_ms) AS avg_ms, max(created_at) AS last_at
          FROM a2a_flows ${where}
          GROUP BY from_agent, to_agent ORDER BY count(*) DESC LIMIT 1000`
        const round = (n: number) => Math.round(Number(n) * 1000) / 1000
        const edges = rows.map((r) => ({
          from: r.fromAgent,
          to: r.toAgent,
          methods: r.methods,
          count: Number(r.count),
          errorCount: Number(r.errorCount),
          p50Ms: round(r.p50),
          p95Ms: round(r.p95),
          avgMs: round(r.avgMs),
          lastAt: r.lastAt instanceof Date ? r.lastAt : new Date(r.lastAt)
        }))
        const nodes = new Map<string, { id: string; sent: number; received: number; errors: number }>()
        const node = (id: string) => {
          const existing = nodes.get(id)
          if (existing) return existing
          const created = { id, sent: 0, received: 0, errors: 0 }
          nodes.set(id, created)
          return created
        }
        for (const e of edges) {
          node(e.from).sent += e.count
          node(e.to).received += e.count
          node(e.to).errors += e.errorCount
        }
        return new A2AGraph({
          nodes: [...nodes.values()],
          edges,
          totalMessages: edges.reduce((n, e) => n + e.count, 0)
        })
      })

    return { record, graph } as const
  })
}) {}

/** The SQL-backed `A2AFlowRecorder` (the contract other services depend on). */
export const A2AFlowRecorderLive = Layer.effect(
  A2AFlowRecorder,
  Effect.map(A2AFlowStore, (store) => A2AFlowRecorder.of({ record: store.record }))
)
