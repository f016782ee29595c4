import {
  type MessageStorage,
  RunnerAddress,
  RunnerHealth,
  Runners,
  Sharding,
  ShardingConfig,
  SocketRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "@effect/cluster"
import { BunClusterSocket } from "@effect/platform-bun"
import { RpcSerialization } from "@effect/rpc"
import { Config, Data, Effect, Layer, Option, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import * as Values from "../config/Values.ts"
import { PeerDeathProbeLive } from "./PeerDeathProbe.ts"
import { ProcessedMessageRetentionLive } from "./ProcessedMessageRetention.ts"
import * as BatchedMessageStorage from "./BatchedMessageStorage.ts"

export class ClusterConfigError extends Data.TaggedError("ClusterConfigError")<{ readonly message: string }> {}

const singleNodeSharding: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  // Poll storage often: after a restart unprocessed persisted messages are picked up quickly.
  entityMessagePollInterval: "1 second",
  entityReplyPollInterval: "200 millis",
  // The library encodes and decodes every message to an entity on this runner, as if it came
  // from another one (a check that payloads survive the wire): 60 of an Echo's 238 Effect steps,
  // 30 of a persisted Ack's 309. Payloads cross runners in the multi-node tests, which keep that
  // check where it matters; a local entity gets the caller's (immutable, decoded) payload.
  simulateRemoteSerialization: false
}

/**
 * Where persisted messages are stored: `batched` (ours: group-committed writes, see
 * BatchedMessageStorage.ts) by default; `library` (@effect/cluster's SqlMessageStorage) is
 * the benchmark's baseline and, by CLUSTER_MESSAGE_STORAGE=library, a way back to it. Both
 * use the same tables, so a cluster can switch between them with messages in flight.
 */
export type MessageStorageKind = "batched" | "library"
const messageStorage = (kind: MessageStorageKind) =>
  Layer.orDie(kind === "batched" ? BatchedMessageStorage.layer : SqlMessageStorage.layer)
const MessageStorageSetting = Values.oneOf("CLUSTER_MESSAGE_STORAGE", "batched", "library").pipe(
  Config.withDefault("batched" as const)
)
const configuredMessageStorage = Layer.unwrapEffect(Effect.map(MessageStorageSetting, messageStorage))

/**
 * Single-process cluster for `bun run dev`: every shard lives here, messages
 * and replies are persisted in SQL (cluster_messages / cluster_replies) so
 * persisted entity messages survive a restart. ShardingConfig is exposed too
 * (SingleRunner keeps its own private) for the health report. This is
 * SingleRunner.layer with our message storage in place of the library's.
 */
export const singleNodeClusterWith = (kind: MessageStorageKind) => singleNodeClusterOn(messageStorage(kind))

/** The same over a given message storage and sharding settings (tests: a storage that counts its reads, other poll intervals). */
export const singleNodeClusterOn = <E, R>(
  storage: Layer.Layer<MessageStorage.MessageStorage, E, R>,
  sharding: Partial<ShardingConfig.ShardingConfig["Type"]> = singleNodeSharding
) =>
  Layer.merge(
    Sharding.layer.pipe(
      Layer.provideMerge(Runners.layerNoop),
      Layer.provideMerge(storage),
      Layer.provide([Layer.orDie(SqlRunnerStorage.layer), RunnerHealth.layerNoop]),
      Layer.provide(ShardingConfig.layerFromEnv(sharding))
    ),
    ShardingConfig.layer(sharding)
  ).pipe(Layer.orDie)

export const SingleNodeClusterLive = Layer.unwrapEffect(Effect.map(MessageStorageSetting, singleNodeClusterWith)).pipe(
  Layer.merge(ProcessedMessageRetentionLive),
  Layer.orDie
)

/**
 * Runner-to-runner settings. Env names are RUNNER_* so they never collide
 * with HOST/PORT, which ShardingConfig.layerFromEnv would read.
 */
const RunnerSettings = Config.all({
  listenHost: Config.string("RUNNER_LISTEN_HOST").pipe(Config.withDefault("0.0.0.0")),
  port: Values.port("RUNNER_PORT").pipe(Config.withDefault(34431)),
  advertiseHost: Config.string("RUNNER_ADVERTISE_HOST").pipe(Config.withDefault("127.0.0.1")),
  // A runner whose heartbeat (written at each lock refresh) is older than the expiry is dropped
  // and its shards move; each lock operation must finish within the refresh interval or the runner
  // gives up its locks. A dead process is found by PeerDeathProbe within a second, so these only
  // decide when a runner that is alive but slow is given up. On a saturated machine (load 30-100
  // on 2 cores) heartbeats were 8-22 s late and 2 s lock operations timed out: raise both there.
  lockExpirationSeconds: Values.positiveInteger("SHARD_LOCK_EXPIRATION_SECONDS").pipe(Config.withDefault(6)),
  lockRefreshSeconds: Values.positiveInteger("SHARD_LOCK_REFRESH_SECONDS").pipe(Config.withDefault(2))
})

const multiNodeSharding = (clientOnly: boolean) =>
  Effect.gen(function*() {
    const s = yield* RunnerSettings
    const sharding: Partial<ShardingConfig.ShardingConfig["Type"]> = {
      ...singleNodeSharding,
      // A client-only node owns no shards and must not advertise an address.
      runnerAddress: clientOnly ? Option.none() : Option.some(RunnerAddress.make(s.advertiseHost, s.port)),
      runnerListenAddress: clientOnly ? Option.none() : Option.some(RunnerAddress.make(s.listenHost, s.port)),
      shardLockExpiration: `${s.lockExpirationSeconds} seconds`,
      shardLockRefreshInterval: `${s.lockRefreshSeconds} seconds`,
      // Health checks (default: once a minute; see fastPingHealth) and the assignment refresh:
      // a runner's shards move at the next refresh after it is marked unhealthy or its heartbeat expires.
      runnerHealthCheckInterval: "1 second",
      refreshAssignmentsInterval: "1 second"
    }
    return sharding
  })

/**
 * Runner health by ping (the health-check singleton). The library's ping waits up to
 * 10 s per attempt and tries 6 times. A dead process is PeerDeathProbe's job; this
 * catches a runner that is up but does not answer (hung, partitioned): three 3 s
 * pings missed in a row, about 11 s. Two 1 s pings (before) marked live runners of a
 * saturated machine unhealthy. One marked unhealthy while only slow is marked
 * healthy at the next check and gets its shards back: the shard locks keep two
 * runners from ever owning one.
 */
const fastPingHealth = Layer.scoped(
  RunnerHealth.RunnerHealth,
  Effect.gen(function*() {
    const runners = yield* Runners.Runners
    return RunnerHealth.RunnerHealth.of({
      isAlive: (address) =>
        runners.ping(address).pipe(
          Effect.timeout("3 seconds"),
          Effect.retry({ times: 2, schedule: Schedule.spaced("1 second") }),
          Effect.isSuccess
        )
    })
  })
)

/**
 * BunClusterSocket.layer for a runner, with fastPingHealth instead of the library's ping and
 * PeerDeathProbeLive (a dead peer's shards move within a second, whoever runs the health check).
 */
const socketRunnerLayer = (sharding: Partial<ShardingConfig.ShardingConfig["Type"]>) =>
  Layer.merge(
    Layer.provide(SocketRunner.layer, [BunClusterSocket.layerSocketServer, BunClusterSocket.layerClientProtocol]),
    PeerDeathProbeLive
  ).pipe(
    Layer.provide(fastPingHealth.pipe(Layer.provide(Runners.layerRpc), Layer.provide(BunClusterSocket.layerClientProtocol))),
    Layer.provideMerge(configuredMessageStorage),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layerFromEnv(sharding)),
    Layer.provide(RpcSerialization.layerMsgPack)
  )

/**
 * The cluster for this process, by CLUSTER_MODE:
 * - single: SingleRunner (one process, embedded or real Postgres);
 * - runner: BunClusterSocket runner, hosts shards, SQL storage on a real Postgres;
 * - client: BunClusterSocket client only (a gateway that hosts no entity).
 * Multi-node needs a real Postgres: PGlite is one shared session whose advisory
 * locks are not exclusive, so two runners on it would both own every shard.
 */
export const ClusterLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (config.clusterMode === "single") return SingleNodeClusterLive
    if (Option.isNone(config.databaseUrl)) {
      return yield* new ClusterConfigError({
        message: `CLUSTER_MODE=${config.clusterMode} needs DATABASE_URL (a real PostgreSQL); the embedded database is single-process only`
      })
    }
    const clientOnly = config.clusterMode === "client"
    const sharding = yield* multiNodeSharding(clientOnly)
    return Layer.merge(
      clientOnly
        ? BunClusterSocket.layer({ clientOnly: true, storage: "byo", shardingConfig: sharding }).pipe(
          Layer.provideMerge(configuredMessageStorage),
          Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
          Layer.provide(ShardingConfig.layerFromEnv(sharding))
        )
        : Layer.merge(socketRunnerLayer(sharding), ProcessedMessageRetentionLive),
      ShardingConfig.layer(sharding)
    )
  })
).pipe(Layer.orDie)

/** Entity layers only where shards live: a client-only gateway registers none. */
export const hostedOnly = <E, R>(entities: Layer.Layer<never, E, R>) =>
  Layer.unwrapEffect(Effect.map(AppConfig, (c) => (c.clusterMode === "client" ? Layer.empty : entities)))
