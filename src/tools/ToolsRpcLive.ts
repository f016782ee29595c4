import { Effect } from "effect"
import { ToolsRpcs } from "../../rpc/ToolsRpcs.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { ToolRegistry } from "./ToolRegistry.ts"

/** `tools.*` RPCs on the ToolRegistry, with REST `/tools`' checks (viewer to list, developer to call). */
export const ToolsRpcLive = ToolsRpcs.toLayer(
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    return ToolsRpcs.of({
      "tools.list": ({ projectId }) =>
        Effect.gen(function*() {
          const ids = projectId === undefined ? yield* visibleProjectIds : yield* Effect.as(requireProjectRole(projectId, "viewer"), [projectId])
          return yield* registry.listTools(ids)
        }),
      "tools.call": ({ projectId, tool, arguments: args, timeoutMs }) =>
        Effect.zipRight(
          requireProjectRole(projectId, "developer"),
          registry.call(projectId, tool, args, timeoutMs === undefined ? {} : { timeoutMs })
        )
    })
  })
)
