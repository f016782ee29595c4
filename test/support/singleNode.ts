import { Layer, Logger, LogLevel, ManagedRuntime, Option, Redacted } from "effect"
import { singleNodeClusterWith } from "../../src/cluster/ClusterLive.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../src/db/Database.ts"

type ClusterLayer = ReturnType<typeof singleNodeClusterWith>

/** The platform's database at `databaseUrl` (platform and cluster tables migrated), with its AppConfig; logs below `logLevel` dropped. */
export const databaseAt = (databaseUrl: string, logLevel: LogLevel.LogLevel = LogLevel.Error) =>
  DatabaseLive.pipe(
    Layer.provideMerge(AppConfig.layerWith({ databaseUrl: Option.some(Redacted.make(databaseUrl)), vectorStore: "disabled" })),
    Layer.provide(Logger.minimumLogLevel(logLevel))
  )

/** The cluster over the platform's database at `databaseUrl`, as `bun run dev` runs with DATABASE_URL. */
const node = (cluster: ClusterLayer, databaseUrl: string, logLevel: LogLevel.LogLevel) =>
  cluster.pipe(Layer.provideMerge(databaseAt(databaseUrl, logLevel)), Layer.provide(Logger.minimumLogLevel(logLevel)))

/**
 * `entities` on a single-node cluster in this process over the PostgreSQL at `databaseUrl`
 * (platform and cluster tables migrated on first use): our message storage unless `cluster`
 * says otherwise (`singleNodeClusterWith`, `singleNodeClusterOn`), logs below `logLevel` dropped.
 */
type NodeServices = Layer.Layer.Success<ReturnType<typeof node>>

export const singleNodeRuntime = <A, E>(
  entities: Layer.Layer<A, E, NodeServices>,
  databaseUrl: string,
  options: { readonly cluster?: ClusterLayer; readonly logLevel?: LogLevel.LogLevel } = {}
) =>
  ManagedRuntime.make(
    entities.pipe(
      Layer.provideMerge(node(options.cluster ?? singleNodeClusterWith("batched"), databaseUrl, options.logLevel ?? LogLevel.Error))
    )
  )
