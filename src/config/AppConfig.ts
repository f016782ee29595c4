import { Config, Context, Effect, Layer, LogLevel, Option, Redacted } from "effect"
import { templateRootFrom } from "./EmbeddedTemplateRoot.ts"
import * as Values from "./Values.ts"

/**
 * Process settings (server, database, cluster, logging), read once through
 * `Config` so every value is validated at start-up and secrets stay `Redacted`.
 * Each feature owns its own settings Tag (AuthConfig, ToolsConfig,
 * WorkflowsConfig, ObservabilityConfig, RagConfig, ...).
 *
 * Env names are prefixed where they would collide with `ShardingConfig.layerFromEnv`
 * (which reads HOST, PORT, ...): see ../shared/FINDINGS.md.
 */
export interface AppConfigShape {
  readonly httpHost: string
  readonly httpPort: number
  /** Unset: an embedded PGlite (+pgvector) under `dataDir`. */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly dataDir: string
  /** shared_buffers of the embedded database (its memory grows by this much). */
  readonly embeddedSharedBuffers: string
  /**
   * Where the pre-initialised embedded data dir is kept (copied into a fresh `dataDir` instead of
   * running initdb); undefined with `EMBEDDED_PG_TEMPLATE_DIR=off`.
   */
  readonly embeddedTemplateDir: string | undefined
  readonly dbPoolSize: number
  readonly corsOrigins: ReadonlyArray<string>
  readonly logLevel: LogLevel.LogLevel
  readonly logFormat: "json" | "pretty"
  /** "required": start-up fails when the vector extension is missing; "disabled": RAG endpoints answer 503. */
  readonly vectorStore: "required" | "disabled"
  readonly maxBodyBytes: number
  /** Chats (and resumes) streaming at once on one `/ws/chat` socket; more get an error frame. */
  readonly wsMaxChatsPerSocket: number
  /** Open `/ws/chat` sockets per caller on one node; more are closed with 1013 (try again later). */
  readonly wsMaxSocketsPerUser: number
  /** Calls in flight at once on one RPC WebSocket (`/rpc/ws`) or in one `/rpc` request (streams count until they end); more fail with TooManyRequests. */
  readonly rpcMaxCallsPerSocket: number
  /** A2A streams (`SendStreamingMessage`, `SubscribeToTask`) a caller holds open at once on one node; more are refused (-32029). */
  readonly a2aMaxStreamsPerCaller: number
  /** "single": `bun run dev`; "runner": hosts shards; "client": gateway only, sends to runners. */
  readonly clusterMode: "single" | "runner" | "client"
  /** Set: platform events go through Redis pub/sub so every node sees them. */
  readonly redisUrl: Option.Option<Redacted.Redacted<string>>
  /**
   * The platform's public URL (`https://agents.example.com`), what agent cards
   * advertise. Unset: loopback and the port the server listens on — never a host taken from a
   * request, which any caller can forge.
   */
  readonly publicBaseUrl: Option.Option<string>
}

/**
 * Settings whose default depends on another setting, resolved after every value (environment or
 * a test's override) is known: a test that points the config at a real PostgreSQL gets that
 * database's pool size, not the embedded database's.
 */
const withDependentDefaults = (c: AppConfigShape): AppConfigShape => ({
  ...c,
  // The embedded database is one shared session: more than 3 connections only queue.
  dbPoolSize: c.dbPoolSize > 0 ? c.dbPoolSize : Option.isSome(c.databaseUrl) ? 10 : 3
})

export class AppConfig extends Context.Tag("Platform/AppConfig")<AppConfig, AppConfigShape>() {
  /** The settings as given; 0 for a pool size left to its default. */
  private static readonly given: Config.Config<AppConfigShape> = Config.all({
    httpHost: Config.string("HTTP_HOST").pipe(Config.withDefault("0.0.0.0")),
    httpPort: Values.port("HTTP_PORT").pipe(Config.withDefault(8000)),
    databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
    dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./.data")),
    embeddedSharedBuffers: Config.string("EMBEDDED_PG_SHARED_BUFFERS").pipe(
      Config.validate({ message: "expected a Postgres size such as 16MB (kB, MB or GB)", validation: (s) => /^\d+(kB|MB|GB)$/.test(s) }),
      Config.withDefault("16MB")
    ),
    embeddedTemplateDir: Config.string("EMBEDDED_PG_TEMPLATE_DIR").pipe(
      Config.option,
      Config.map((value) => templateRootFrom(Option.getOrUndefined(value)))
    ),
    dbPoolSize: Values.positiveInteger("DB_POOL_SIZE").pipe(Config.withDefault(0)),
    corsOrigins: Config.array(Config.string(), "CORS_ORIGINS").pipe(
      Config.withDefault(["http://localhost:3000"])
    ),
    logLevel: Values.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info)),
    logFormat: Values.oneOf("LOG_FORMAT", "json", "pretty").pipe(Config.withDefault("json" as const)),
    vectorStore: Values.oneOf("VECTOR_STORE", "required", "disabled").pipe(
      Config.withDefault("required" as const)
    ),
    maxBodyBytes: Values.positiveInteger("MAX_BODY_BYTES").pipe(Config.withDefault(10 * 1024 * 1024)),
    wsMaxChatsPerSocket: Values.positiveInteger("WS_MAX_CHATS_PER_SOCKET").pipe(Config.withDefault(8)),
    wsMaxSocketsPerUser: Values.positiveInteger("WS_MAX_SOCKETS_PER_USER").pipe(Config.withDefault(16)),
    rpcMaxCallsPerSocket: Values.positiveInteger("RPC_MAX_CALLS_PER_SOCKET").pipe(Config.withDefault(64)),
    a2aMaxStreamsPerCaller: Values.positiveInteger("A2A_MAX_STREAMS_PER_CALLER").pipe(Config.withDefault(32)),
    clusterMode: Values.oneOf("CLUSTER_MODE", "single", "runner", "client").pipe(Config.withDefault("single" as const)),
    redisUrl: Config.option(Config.redacted("REDIS_URL")),
    publicBaseUrl: Config.option(
      Config.string("PUBLIC_BASE_URL").pipe(
        Config.validate({ message: "expected an absolute http(s) URL", validation: (u) => /^https?:\/\/[^\s/]+(\/\S*)?$/.test(u) }),
        Config.map((u) => u.replace(/\/+$/, ""))
      )
    )
  })

  static readonly config: Config.Config<AppConfigShape> = Config.map(AppConfig.given, withDependentDefaults)

  static readonly layer = Layer.effect(AppConfig, AppConfig.config)

  /** For tests: the defaults, overridden field by field. */
  static readonly layerWith = (overrides: Partial<AppConfigShape>) =>
    Layer.effect(
      AppConfig,
      Effect.map(AppConfig.given, (c) => withDependentDefaults({ ...c, ...overrides }))
    )
}
