import { type Sharding, TestRunner } from "@effect/cluster"
import { Effect, Either, Layer, Logger, LogLevel, ManagedRuntime, Schema } from "effect"
import * as net from "node:net"
import * as path from "node:path"
import { McpSession } from "../../entities/McpSession.ts"
import { SingleNodeClusterLive } from "../../src/cluster/ClusterLive.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../src/db/Database.ts"
import { McpSessionLive } from "../../src/tools/McpSessionLive.ts"
import { McpCatalogEntry } from "../../src/domain/Mcp.ts"
import { type McpServerDefinition, McpServerSource } from "../../src/mcp/McpServerSource.ts"
import { resolveCatalogEntry } from "../../src/mcp/StdioCatalog.ts"
import type { ToolsConfigShape } from "../../src/tools/ToolsConfig.ts"
import { settingsWith } from "../../src/app/Settings.ts"
import { seedDataDir } from "../support/pgliteTemplate.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"
import { EgressPolicy } from "../../src/net/EgressPolicy.ts"

const root = path.resolve(import.meta.dir, "../..")

/** Entry points of the npm reference servers (run directly, never through npx). */
export const referenceServer = {
  everything: path.join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
  filesystem: path.join(root, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"),
  memory: path.join(root, "node_modules/@modelcontextprotocol/server-memory/dist/index.js")
} as const

/**
 * A stdio server as the platform runs one: an operator's catalog entry
 * (`bun <entry> ...args`) resolved by the same code as registered servers.
 */
export const stdioServer = (id: string, entry: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}): McpServerDefinition => {
  const catalogEntry = Schema.decodeUnknownSync(McpCatalogEntry)({ id, command: "bun", args: [entry, ...args], env })
  return { id, projectId: "p1", name: id, transport: Either.getOrThrow(resolveCatalogEntry(catalogEntry, {})) }
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** server-everything in its Streamable HTTP mode on a free port; `url` ends in /mcp. */
export const startEverythingHttp = async () => {
  const port = await freePort()
  const proc = Bun.spawn(["bun", referenceServer.everything, "streamableHttp"], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore"
  })
  const url = `http://127.0.0.1:${port}/mcp`
  await waitFor(async () => {
    const res = await fetch(url, { method: "GET" })
    return res.status > 0
  }, 20_000, () => proc.exitCode !== null)
  return { url, proc, stop: async () => { proc.kill("SIGKILL"); await proc.exited } }
}

/** Is the process alive? (signal 0 probes without killing.) */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The McpSession entity with fixed server definitions, in isolation from the
 * Tools repository and HTTP layer. `cluster: "memory"` is the real sharding
 * with in-memory storage (`TestRunner`: no database to migrate); `"sql"` is
 * the platform's single-node cluster over a fresh embedded database.
 */
export const makeSessionHarness = async (
  servers: ReadonlyArray<McpServerDefinition>,
  options: { readonly tools?: Partial<ToolsConfigShape>; readonly cluster?: "memory" | "sql" } = {}
) => {
  const tmp = makeTempDir("mcp-session")
  if (options.cluster === "sql") await seedDataDir(tmp.dir)
  // The servers under test listen on loopback: the operator allow-list admits it, as an operator would.
  const config = settingsWith({
    httpHost: "127.0.0.1",
    httpPort: 0,
    dataDir: tmp.dir,
    tools: options.tools ?? {},
    egress: { allow: ["127.0.0.1"] }
  })
  const cluster: Layer.Layer<Sharding.Sharding, unknown, AppConfig> = options.cluster === "sql"
    ? SingleNodeClusterLive.pipe(Layer.provideMerge(DatabaseLive))
    : TestRunner.layer
  const layer = McpSessionLive.pipe(
    Layer.provideMerge(cluster),
    Layer.provide(McpServerSource.fromList(servers)),
    Layer.provide(EgressPolicy.Default),
    Layer.provideMerge(config),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
  const runtime = ManagedRuntime.make(layer)
  type SessionClient = Effect.Effect.Success<typeof McpSession.client>
  /** Runs `f` with the entity client: `run((c) => c("server-id").CallTool(...))`. */
  const run = <A, E>(f: (client: SessionClient) => Effect.Effect<A, E>): Promise<A> =>
    runtime.runPromise(Effect.flatMap(McpSession.client, f))
  return {
    runtime,
    run,
    dispose: async () => {
      await runtime.dispose()
      tmp.remove()
    }
  }
}
