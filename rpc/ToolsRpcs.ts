import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { ToolExecutionFailed, ToolInvalidArguments, ToolNotFound, ToolResult, ToolTimeout, ToolView } from "../src/domain/Tool.ts"
import { Forbidden, NotFound } from "../src/kernel/WireErrors.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

/** Tools of a project (built-ins, HTTP tools, MCP servers' tools), listed and called like REST `/tools`. */
export class ToolsRpcs extends RpcGroup.make(
  Rpc.make("list", {
    payload: { projectId: Schema.optional(Id) },
    success: Schema.Array(ToolView),
    error: Schema.Union(NotFound, Forbidden)
  }),
  /** `tool`: an HTTP tool's id or any tool's name; arguments are checked against its input schema. */
  Rpc.make("call", {
    payload: Schema.Struct({
      projectId: Id,
      tool: Id,
      arguments: Schema.optionalWith(Schema.Unknown, { default: () => ({}) }),
      timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 3_600_000)))
    }),
    success: ToolResult,
    error: Schema.Union(NotFound, Forbidden, ToolNotFound, ToolInvalidArguments, ToolExecutionFailed, ToolTimeout)
  })
).prefix("tools.").middleware(RpcAuthentication) {}
