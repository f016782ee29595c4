import { SqlClient } from "@effect/sql"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Option } from "effect"
import { SingleNodeClusterLive } from "../../src/cluster/ClusterLive.ts"
import type { AppConfigShape } from "../../src/config/AppConfig.ts"
import { settingsWith } from "../../src/app/Settings.ts"
import type { WorkflowsConfigShape } from "../../src/workflows/WorkflowsConfig.ts"
import { DatabaseLive } from "../../src/db/Database.ts"
import { EventBus } from "../../src/events/EventBus.ts"
import { WorkflowDefinitions } from "../../src/workflows/WorkflowDefinitions.ts"
import { WorkflowRepo } from "../../src/workflows/WorkflowRepo.ts"
import { WorkflowRuns } from "../../src/workflows/WorkflowRuns.ts"
import { WorkflowEngineLive, WorkflowHostLive } from "../../src/workflows/WorkflowsLive.ts"
import { WorkflowPortsLive } from "../../src/app/WorkflowPorts.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { EgressPolicy } from "../../src/net/EgressPolicy.ts"

/**
 * The workflow engine without HTTP: embedded database, single-node cluster,
 * the durable `WorkflowRun` and the run service, plus whatever backend layers
 * (ToolCatalog, ports) a suite provides.
 */
export const startEngine = async <R>(
  backends: Layer.Layer<R, never, never>,
  workflows: Partial<WorkflowsConfigShape> = {},
  overrides: Partial<AppConfigShape> = {}
) => {
  const tmp = makeTempDir("wf-engine")
  if (overrides.databaseUrl === undefined) await seedDataDir(tmp.dir)
  // http steps call local test servers: the operator allow-list admits loopback, as an operator would.
  const config = settingsWith({ dataDir: tmp.dir, egress: { allow: ["127.0.0.1"] }, ...overrides, workflows })
  const layer = Layer.mergeAll(WorkflowHostLive.pipe(Layer.provide(WorkflowPortsLive)), WorkflowRuns.Default, WorkflowRepo.Default, WorkflowDefinitions.Default).pipe(
    Layer.provide(backends),
    Layer.provideMerge(WorkflowEngineLive),
    Layer.provideMerge(EventBus.inProcess),
    Layer.provideMerge(SingleNodeClusterLive),
    Layer.provideMerge(DatabaseLive),
    Layer.provideMerge(EgressPolicy.Default),
    Layer.provideMerge(config),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
  const runtime = ManagedRuntime.make(layer)
  // A user and a project to own runs.
  const projectId = `prj_${crypto.randomUUID().slice(0, 8)}`
  await runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES (${`usr_${projectId}`}, ${`${projectId}@t.example`}, 'x')`
    yield* sql`INSERT INTO projects (id, name, owner_id) VALUES (${projectId}, 'p', ${`usr_${projectId}`})`
  }))

  /** Validates like the HTTP layer does, then starts an inline run. */
  const start = (definition: unknown, input: unknown = {}) =>
    runtime.runPromise(Effect.gen(function*() {
      const { definition: checked } = yield* (yield* WorkflowDefinitions).check(projectId, definition, null)
      return yield* (yield* WorkflowRuns).start({
        projectId,
        workflowId: null,
        version: 1,
        definition: checked,
        input,
        trigger: "api",
        idempotencyKey: null,
        createdBy: null
      })
    }).pipe(Effect.map((r) => r.run.id)))

  const run = (runId: string) =>
    runtime.runPromise(Effect.flatMap(WorkflowRepo, (repo) => repo.findRun(runId)).pipe(Effect.map(Option.getOrThrow)))

  const waitStatus = async (runId: string, statuses: ReadonlyArray<string>, timeoutMs = 20_000) => {
    await waitFor(async () => statuses.includes((await run(runId)).status), timeoutMs)
    return run(runId)
  }

  return { runtime, projectId, start, run, waitStatus, stop: async () => {
    await runtime.dispose()
    tmp.remove()
  } }
}

/** A local HTTP server that counts hits per path and answers by a handler. */
export const countingServer = (handler: (path: string, req: Request, hits: number) => Response | Promise<Response>) => {
  const hits = new Map<string, number>()
  let inFlight = 0
  let maxInFlight = 0
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const path = new URL(req.url).pathname
      const n = (hits.get(path) ?? 0) + 1
      hits.set(path, n)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try {
        return await handler(path, req, n)
      } finally {
        inFlight--
      }
    }
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    hits: (path: string) => hits.get(path) ?? 0,
    maxInFlight: () => maxInFlight,
    stop: () => server.stop(true)
  }
}
