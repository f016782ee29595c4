import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, GatewayTimeout, NotFound, ServiceUnavailable } from "../../kernel/WireErrors.ts"
import {
  ConnectionInfo,
  CreateConnectionRequest,
  ExecuteRequest,
  ExplainRequest,
  ExplainResult,
  QueryFailed,
  QueryRejected,
  QueryResult,
  SchemaInfo
} from "../SqlTool.ts"

/**
 * SQL tool: saved database connections of a project, read-only queries
 * (write mode for admins on writable connections), schema, EXPLAIN.
 * Connection strings go in, never come out.
 */
export class SqlToolApi extends HttpApiGroup.make("sqlTool")
  .add(
    HttpApiEndpoint.post("createConnection", "/sql/connections")
      .setPayload(CreateConnectionRequest)
      .addSuccess(ConnectionInfo, { status: 201 })
      .addError(BadRequest)
      .addError(Conflict)
      .addError(Forbidden)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .addError(GatewayTimeout)
      .addError(QueryFailed)
  )
  .add(
    HttpApiEndpoint.get("listConnections", "/sql/connections")
      .setUrlParams(Schema.Struct({ projectId: Schema.optional(Schema.String) }))
      .addSuccess(Schema.Array(ConnectionInfo))
      .addError(Forbidden)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("deleteConnection", "/sql/connections/:id")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(Forbidden)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.post("execute", "/sql/execute")
      .setPayload(ExecuteRequest)
      .addSuccess(QueryResult)
      .addError(QueryRejected)
      .addError(QueryFailed)
      .addError(Forbidden)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .addError(GatewayTimeout)
  )
  .add(
    HttpApiEndpoint.get("schema", "/sql/schema/:connectionId")
      .setPath(Schema.Struct({ connectionId: Schema.String }))
      .setUrlParams(Schema.Struct({ refresh: Schema.optional(Schema.BooleanFromString) }))
      .addSuccess(SchemaInfo)
      .addError(QueryFailed)
      .addError(Forbidden)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .addError(GatewayTimeout)
  )
  .add(
    HttpApiEndpoint.post("explain", "/sql/explain")
      .setPayload(ExplainRequest)
      .addSuccess(ExplainResult)
      .addError(QueryRejected)
      .addError(QueryFailed)
      .addError(Forbidden)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .addError(GatewayTimeout)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Database connections, guarded SQL execution, schema introspection and EXPLAIN hints")
{}
