import { SqlClient } from "@effect/sql"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { AgentEntityLive } from "../../src/agents/AgentEntityLive.ts"
import { AgentRepo } from "../../src/agents/AgentRepo.ts"
import { AgentTasks } from "../../src/agents/AgentTasks.ts"
import { SingleNodeClusterLive } from "../../src/cluster/ClusterLive.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../src/db/Database.ts"
import { EventBus } from "../../src/events/EventBus.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LlmConfig, type LlmConfigShape } from "../../src/llm/LlmConfig.ts"
import { ToolCatalog, ToolExecutionFailed, type ToolSpec } from "../../src/domain/Tool.ts"
import { suiteRuntime } from "../support/effect.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { makeTempDir } from "../support/tempDir.ts"

/** A small in-test tool catalog: `echo`, `add`, `sleep` (for cancellation), `boom` (fails). */
export const TestToolCatalog = Layer.succeed(ToolCatalog, {
  list: () =>
    Effect.succeed<ReadonlyArray<ToolSpec>>([
      { name: "echo", description: "Echo text", inputSchema: { type: "object", properties: { text: { type: "string" } } }, source: "builtin" },
      { name: "add", description: "Add two numbers", inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } }, source: "builtin" },
      { name: "sleep", description: "Wait ms milliseconds", inputSchema: { type: "object", properties: { ms: { type: "number" } } }, source: "builtin" },
      { name: "boom", description: "Always fails", inputSchema: { type: "object" }, source: "builtin" }
    ]),
  call: (_projectId, name, args) => {
    const a = (args ?? {}) as Record<string, unknown>
    switch (name) {
      case "echo":
        return Effect.succeed({ content: [{ type: "text" as const, text: String(a.text ?? "") }], isError: false })
      case "add":
        return Effect.succeed({ content: [{ type: "text" as const, text: String(Number(a.a) + Number(a.b)) }], isError: false })
      case "sleep":
        return Effect.sleep(Number(a.ms ?? 1000)).pipe(
          Effect.as({ content: [{ type: "text" as const, text: "slept" }], isError: false })
        )
      default:
        return Effect.fail(new ToolExecutionFailed({ tool: name, message: "tool exploded" }))
    }
  }
})

/**
 * Agents' services on a fresh embedded database and a single-node cluster, no
 * HTTP. With `dataDir` (seeded by the caller), a restart on the same database:
 * the directory is left in place on dispose.
 */
export const makeAgentsRuntime = async (llm: Partial<LlmConfigShape> = {}, options: { readonly dataDir?: string } = {}) => {
  const tmp = options.dataDir === undefined ? makeTempDir("agents") : { dir: options.dataDir, remove: () => {} }
  if (options.dataDir === undefined) await seedDataDir(tmp.dir)
  const layer = Layer.mergeAll(AgentTasks.Default, AgentRepo.Default, AgentEntityLive).pipe(
    Layer.provideMerge(LanguageModel.Default),
    Layer.provideMerge(LlmConfig.layerWith(llm)),
    Layer.provideMerge(TestToolCatalog),
    Layer.provideMerge(EventBus.inProcess),
    Layer.provideMerge(SingleNodeClusterLive),
    Layer.provideMerge(DatabaseLive),
    Layer.provide(AppConfig.layerWith({ dataDir: tmp.dir })),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
  const rt = suiteRuntime(layer)
  // Agents belong to a project of a user: seed one.
  const projectId = await rt.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES ('u1', 'u1@example.com', 'x') ON CONFLICT DO NOTHING`
    yield* sql`INSERT INTO projects (id, name, owner_id) VALUES ('p1', 'P1', 'u1') ON CONFLICT DO NOTHING`
    return "p1"
  }))
  return {
    rt,
    projectId,
    dispose: async () => {
      await rt.dispose()
      tmp.remove()
    }
  }
}
