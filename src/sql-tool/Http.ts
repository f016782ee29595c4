import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { SqlToolService } from "./SqlToolService.ts"

export const SqlToolHttpLive = HttpApiBuilder.group(PlatformApi, "sqlTool", (handlers) =>
  Effect.gen(function*() {
    const service = yield* SqlToolService
    return handlers
      .handle("createConnection", ({ payload }) => service.create(payload))
      .handle("listConnections", ({ urlParams }) => service.list(urlParams.projectId))
      .handle("deleteConnection", ({ path }) => service.remove(path.id))
      .handle("execute", ({ payload }) =>
        service.execute(payload.connectionId, {
          sql: payload.sql,
          params: payload.params,
          mode: payload.mode,
          maxRows: payload.maxRows,
          timeoutMs: payload.timeoutMs
        }))
      .handle("schema", ({ path, urlParams }) => service.schema(path.connectionId, urlParams.refresh ?? false))
      .handle("explain", ({ payload }) =>
        service.explain(payload.connectionId, { sql: payload.sql, params: payload.params, analyze: payload.analyze }))
  }))
