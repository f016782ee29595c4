import { Context, Data, Effect, Layer, Option } from "effect"
import type { McpTransportConfig } from "../domain/Mcp.ts"

export interface McpServerDefinition {
  readonly id: string
  readonly projectId: string
  readonly name: string
  readonly transport: McpTransportConfig
}

/** A registered server that may not be started (e.g. its catalog entry was removed): the reason, for its status. */
export class McpServerUnavailable extends Data.TaggedError("McpServerUnavailable")<{ readonly message: string }> {}

/**
 * Where an `McpSession` entity finds its server's definition by entity id.
 * The entity reads it on activation (and after `Disconnect`) instead of
 * receiving it in messages, so secrets never travel through the cluster.
 */
export class McpServerSource extends Context.Tag("Mcp/McpServerSource")<
  McpServerSource,
  {
    readonly get: (serverId: string) => Effect.Effect<Option.Option<McpServerDefinition>, McpServerUnavailable>
    /** Best-effort status report (`tool_instances.status` / `last_error`). */
    readonly report: (serverId: string, status: "connected" | "error", lastError: string | null) => Effect.Effect<void>
  }
>() {
  /** Fixed definitions: benchmarks and tests that run the entity without the Tools repository. */
  static readonly fromList = (servers: ReadonlyArray<McpServerDefinition>) =>
    Layer.succeed(McpServerSource, {
      get: (id) => Effect.succeed(Option.fromNullable(servers.find((s) => s.id === id))),
      report: () => Effect.void
    })
}
