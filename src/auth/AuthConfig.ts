import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Values from "../config/Values.ts"

/**
 * Gateway settings: tokens, passwords, service-to-service auth, rate limits.
 * Its own Tag (`AuthConfig`), provided by the composition root.
 */
export interface AuthConfigShape {
  /** HS256 key. Unset: a random per-process key (single node only; a warning is logged). */
  readonly jwtSecret: Option.Option<Redacted.Redacted<string>>
  /** PEM (SPKI) public key: also accept RS256 tokens signed by an external issuer. */
  readonly jwtPublicKey: Option.Option<string>
  /** JWKS endpoint: also accept RS256/ES256 tokens whose `kid` it lists. */
  readonly jwtJwksUrl: Option.Option<string>
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly accessTokenTtlSeconds: number
  /** Seconds a token is still accepted past its `exp` (and before its `nbf`): clock skew between issuer and nodes. */
  readonly jwtClockToleranceSeconds: number
  readonly refreshTokenTtlSeconds: number
  /** Shared secret of runner↔gateway calls (Principal kind "service"). */
  readonly serviceToken: Option.Option<Redacted.Redacted<string>>
  /** argon2id cost; the default is OWASP's minimum (19 MiB, t=2), ~30 ms per hash here. */
  readonly passwordMemoryKib: number
  readonly passwordTimeCost: number
  /** How long a loaded principal (user, session, memberships) is reused before re-reading the database. */
  readonly principalCacheTtlMs: number
  readonly rateLimitEnabled: boolean
  /** Token bucket per client IP: refill per second and bucket size. */
  readonly rateLimitIpPerSecond: number
  readonly rateLimitIpBurst: number
  /** Token bucket per authenticated caller (user, API key, service). */
  readonly rateLimitUserPerSecond: number
  readonly rateLimitUserBurst: number
  /** Set: buckets live in Redis so limits hold across nodes. */
  readonly redisUrl: Option.Option<Redacted.Redacted<string>>
  readonly rateLimitKeyPrefix: string
  /** Take the client IP from the first `x-forwarded-for` hop (only behind a trusted proxy). */
  readonly trustProxy: boolean
  /** Failed logins (within the window) that lock an account / a client IP; then each failure doubles the lock. */
  readonly loginMaxFailuresPerAccount: number
  readonly loginMaxFailuresPerIp: number
  readonly loginFailureWindowSeconds: number
  /** The first lock's length and the longest one. */
  readonly loginLockoutBaseSeconds: number
  readonly loginLockoutMaxSeconds: number
  /**
   * Emails of platform operators (lower-cased): they hold the host-level
   * capabilities no project role grants (stdio MCP catalog, writable and
   * out-of-project SQL connections, promoting other operators).
   */
  readonly platformOperators: ReadonlyArray<string>
  /** How many rows of each kind a tenant may hold (src/auth/ProjectQuotas.ts). */
  readonly quotas: QuotaSettings
}

export interface QuotaSettings {
  readonly agentsPerProject: number
  readonly workflowsPerProject: number
  readonly toolsPerProject: number
  readonly apiKeysPerProject: number
  readonly sqlConnectionsPerProject: number
  readonly alertRulesPerProject: number
  readonly documentsPerProject: number
  readonly projectsPerUser: number
}

/** Each quota's setting and its default: read here, named in the 409 of src/auth/ProjectQuotas.ts. */
export const QUOTA_SETTINGS: { readonly [K in keyof QuotaSettings]: readonly [variable: string, fallback: number] } = {
  agentsPerProject: ["QUOTA_AGENTS_PER_PROJECT", 1000],
  workflowsPerProject: ["QUOTA_WORKFLOWS_PER_PROJECT", 500],
  toolsPerProject: ["QUOTA_TOOLS_PER_PROJECT", 200],
  apiKeysPerProject: ["QUOTA_API_KEYS_PER_PROJECT", 100],
  sqlConnectionsPerProject: ["QUOTA_SQL_CONNECTIONS_PER_PROJECT", 50],
  alertRulesPerProject: ["QUOTA_ALERT_RULES_PER_PROJECT", 100],
  documentsPerProject: ["QUOTA_DOCUMENTS_PER_PROJECT", 10_000],
  projectsPerUser: ["QUOTA_PROJECTS_PER_USER", 50]
}

const quotaSettings: Config.Config<QuotaSettings> = Config.all(
  Object.fromEntries(
    Object.entries(QUOTA_SETTINGS).map(([key, [variable, fallback]]) => [key, Values.positiveInteger(variable).pipe(Config.withDefault(fallback))])
  ) as { readonly [K in keyof QuotaSettings]: Config.Config<number> }
)

const authSettings: Config.Config<AuthConfigShape> = Config.all({
  jwtSecret: Config.option(Config.redacted("JWT_SECRET_KEY")),
  jwtPublicKey: Config.option(Config.string("JWT_PUBLIC_KEY")),
  jwtJwksUrl: Config.option(Config.string("JWT_JWKS_URL")),
  jwtIssuer: Config.string("JWT_ISSUER").pipe(Config.withDefault("agent-platform")),
  jwtAudience: Config.string("JWT_AUDIENCE").pipe(Config.withDefault("agent-platform-api")),
  accessTokenTtlSeconds: Values.positiveInteger("ACCESS_TOKEN_TTL_SECONDS").pipe(Config.withDefault(15 * 60)),
  jwtClockToleranceSeconds: Values.nonNegativeInteger("JWT_CLOCK_TOLERANCE_SECONDS").pipe(Config.withDefault(5)),
  refreshTokenTtlSeconds: Values.positiveInteger("REFRESH_TOKEN_TTL_SECONDS").pipe(Config.withDefault(30 * 24 * 3600)),
  serviceToken: Config.option(Config.redacted("SERVICE_AUTH_TOKEN")),
  passwordMemoryKib: Values.positiveInteger("PASSWORD_HASH_MEMORY_KIB").pipe(Config.withDefault(19456)),
  passwordTimeCost: Values.positiveInteger("PASSWORD_HASH_TIME_COST").pipe(Config.withDefault(2)),
  principalCacheTtlMs: Values.nonNegativeInteger("PRINCIPAL_CACHE_TTL_MS").pipe(Config.withDefault(5_000)),
  rateLimitEnabled: Config.boolean("RATE_LIMIT_ENABLED").pipe(Config.withDefault(true)),
  // Generous defaults: a whole test suite shares 127.0.0.1; production tunes these down.
  rateLimitIpPerSecond: Values.positiveNumber("RATE_LIMIT_IP_PER_SECOND").pipe(Config.withDefault(1000)),
  rateLimitIpBurst: Values.positiveNumber("RATE_LIMIT_IP_BURST").pipe(Config.withDefault(5000)),
  rateLimitUserPerSecond: Values.positiveNumber("RATE_LIMIT_USER_PER_SECOND").pipe(Config.withDefault(500)),
  rateLimitUserBurst: Values.positiveNumber("RATE_LIMIT_USER_BURST").pipe(Config.withDefault(2000)),
  redisUrl: Config.option(Config.redacted("REDIS_URL")),
  rateLimitKeyPrefix: Config.string("RATE_LIMIT_KEY_PREFIX").pipe(Config.withDefault("ratelimit:")),
  trustProxy: Config.boolean("TRUST_PROXY").pipe(Config.withDefault(false)),
  loginMaxFailuresPerAccount: Values.positiveInteger("LOGIN_MAX_FAILURES_PER_ACCOUNT").pipe(Config.withDefault(5)),
  loginMaxFailuresPerIp: Values.positiveInteger("LOGIN_MAX_FAILURES_PER_IP").pipe(Config.withDefault(50)),
  loginFailureWindowSeconds: Values.positiveNumber("LOGIN_FAILURE_WINDOW_SECONDS").pipe(Config.withDefault(15 * 60)),
  loginLockoutBaseSeconds: Values.positiveNumber("LOGIN_LOCKOUT_BASE_SECONDS").pipe(Config.withDefault(30)),
  loginLockoutMaxSeconds: Values.positiveNumber("LOGIN_LOCKOUT_MAX_SECONDS").pipe(Config.withDefault(15 * 60)),
  platformOperators: Config.array(Config.string(), "PLATFORM_OPERATORS").pipe(
    Config.withDefault([]),
    Config.map((emails) => emails.map((e) => e.trim().toLowerCase()).filter((e) => e !== ""))
  ),
  quotas: quotaSettings
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class AuthConfig extends Context.Tag("Auth/Config")<AuthConfig, AuthConfigShape>() {
  static readonly config = authSettings
  static readonly layer = Layer.effect(AuthConfig, authSettings)
  static readonly layerWith = (overrides: Partial<Omit<AuthConfigShape, "quotas">> & { readonly quotas?: Partial<QuotaSettings> }) =>
    Layer.effect(
      AuthConfig,
      Effect.map(authSettings, (settings) => ({ ...settings, ...overrides, quotas: { ...settings.quotas, ...overrides.quotas } }))
    )
}
