import { Config, Context, Effect, Layer } from "effect"
import * as Values from "../config/Values.ts"
import { httpClientPoolSize } from "./HttpClientPool.ts"

/** The operator's egress settings: what outbound requests and connections may reach beyond the public internet. */
export interface EgressConfigShape {
  /**
   * Destinations admitted although they are not public: host names
   * (`db.internal`, `*.corp.example`), addresses and CIDRs (`10.0.0.0/8`,
   * `127.0.0.1`, `fd00::/8`), each optionally pinned to a port
   * (`127.0.0.1:5432`, `[::1]:8080`, `db.internal:5432`). Empty: public addresses only.
   */
  readonly allow: ReadonlyArray<string>
  /** Redirect hops an outbound HTTP request follows, each re-checked. */
  readonly maxRedirects: number
  /** Name resolution budget of one destination check. */
  readonly resolveTimeoutMs: number
  /**
   * Tenant-aimed HTTP requests in flight at once in this process (each until its response body
   * ends; event streams are counted apart, below); the rest wait. Below Bun's pool (HttpClientPool.ts), so the platform's own
   * calls (models, embeddings, tracing export) always find room. See EgressSlots.ts.
   */
  readonly maxConcurrent: number
  /** The same, per tenant (project): one tenant's slow endpoints cannot take everyone's share. */
  readonly maxConcurrentPerTenant: number
  /**
   * Event streams (a GET accepting only `text/event-stream`: an MCP server's stream to its
   * client) open at once in this process, in all and per tenant. Counted apart from requests:
   * they stay open while their session lives, so in the requests' share a project with many
   * MCP servers would starve its own calls.
   */
  readonly maxStreams: number
  readonly maxStreamsPerTenant: number
}

const egressSettings: Config.Config<EgressConfigShape> = Config.all({
  allow: Config.array(Config.string(), "EGRESS_ALLOW").pipe(
    Config.map((entries) => entries.map((e) => e.trim()).filter((e) => e !== "")),
    Config.withDefault([])
  ),
  maxRedirects: Values.nonNegativeInteger("EGRESS_MAX_REDIRECTS").pipe(Config.withDefault(5)),
  resolveTimeoutMs: Values.positiveInteger("EGRESS_RESOLVE_TIMEOUT_MS").pipe(Config.withDefault(5_000)),
  // Half of Bun's pool by default (2,048 of the platform's 4,096; 128 of Bun's own 256).
  maxConcurrent: Values.positiveInteger("EGRESS_MAX_CONCURRENT").pipe(
    Config.withDefault(Math.max(1, Math.floor(httpClientPoolSize() / 2)))
  ),
  maxConcurrentPerTenant: Values.positiveInteger("EGRESS_MAX_CONCURRENT_PER_TENANT").pipe(Config.withDefault(64)),
  // A quarter of Bun's pool (1,024 of 4,096): requests half, streams a quarter, the platform's own calls the rest.
  maxStreams: Values.positiveInteger("EGRESS_MAX_STREAMS").pipe(
    Config.withDefault(Math.max(1, Math.floor(httpClientPoolSize() / 4)))
  ),
  maxStreamsPerTenant: Values.positiveInteger("EGRESS_MAX_STREAMS_PER_TENANT").pipe(Config.withDefault(32))
})

/** Process-wide egress settings, read from the environment once (tests: `layerWith`). */
export class EgressConfig extends Context.Tag("Net/EgressConfig")<EgressConfig, EgressConfigShape>() {
  static readonly config = egressSettings
  static readonly layer = Layer.effect(EgressConfig, egressSettings)
  static readonly layerWith = (overrides: Partial<EgressConfigShape>) =>
    Layer.effect(EgressConfig, Effect.map(egressSettings, (settings) => ({ ...settings, ...overrides })))
}
