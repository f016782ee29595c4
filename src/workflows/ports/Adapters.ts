import { Context, Effect, Layer, Option } from "effect"
import { RagSearch } from "../../rag/RagSearch.ts"
import { SqlQueryTool } from "../../sql-tool/SqlQueryTool.ts"
import { BackendError } from "../Errors.ts"
import { WorkflowRagPort } from "./RagPort.ts"
import { WorkflowSqlPort } from "./SqlPort.ts"

/**
 * Ports satisfied by the services of this deployment, when they are there:
 * each adapter looks its service up and provides nothing without it, so the
 * step fails with `BackendNotConfigured` rather than the process failing.
 */
const optionalPort = <I, S, PI, PS>(source: Context.Tag<I, S>, port: Context.Tag<PI, PS>, adapt: (service: S) => PS) =>
  Layer.effectContext(
    Effect.map(Effect.serviceOption(source), (found) =>
      Option.match(found, {
        onNone: () => Context.empty() as Context.Context<PI>,
        onSome: (service) => Context.make(port, adapt(service))
      }))
  )

const RagAdapter = optionalPort(RagSearch, WorkflowRagPort, (rag) => ({
  query: (r) =>
    rag.search({ projectId: r.projectId, query: r.query, k: r.topK }).pipe(
      Effect.map((result) => ({
        query: result.query,
        hits: result.hits.map((h) => ({
          documentId: h.documentId,
          filename: h.filename,
          chunkIndex: h.chunkIndex,
          content: h.content,
          score: h.score,
          metadata: h.metadata
        }))
      })),
      Effect.mapError((e) => new BackendError({ message: `rag: ${e.message}`, retryable: true }))
    )
}))

const isSqlParam = (v: unknown): v is string | number | boolean | null =>
  v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean"

const SqlAdapter = optionalPort(SqlQueryTool, WorkflowSqlPort, (tool) => ({
  query: (r) => {
    const params = r.params.map((p) => (isSqlParam(p) ? p : JSON.stringify(p)))
    return tool.query(r.projectId, { connection: r.connectionId, sql: r.query, params }).pipe(
      Effect.mapError((e) =>
        new BackendError({
          message: `sql: ${e.message}`,
          retryable: e._tag === "QueryFailed"
        })
      )
    )
  }
}))

/** Every adapter whose service this process has. */
export const PortAdaptersLive = Layer.mergeAll(RagAdapter, SqlAdapter)
