import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Values from "../config/Values.ts"

/** Observability settings: OTel export, stored-trace retention, metrics scraping, alert evaluation. */
export interface ObservabilityConfigShape {
  /** OTel `service.name` of this process's spans. */
  readonly serviceName: string
  /** Set: spans are also exported over OTLP/HTTP to `<endpoint>/v1/traces`. */
  readonly otlpEndpoint: Option.Option<string>
  /** Stored spans (observability_traces) are pruned to this many rows... */
  readonly traceRetentionMaxRows: number
  /** ...and to this age. */
  readonly traceRetentionMaxAgeHours: number
  readonly traceFlushIntervalMs: number
  /**
   * Share of trivial requests whose span is stored: a root HTTP server span
   * (or an RPC call's span) that succeeded quickly and did nothing traced
   * (no child span). Every
   * request still counts in the HTTP metrics; errors, slow requests and
   * requests that did work (SQL, entities, tools, LLM) are always stored.
   */
  readonly traceTrivialSampleRatio: number
  /** A request at least this slow is never trivial. */
  readonly traceSlowMs: number
  readonly tracePruneIntervalMs: number
  /** Set: GET /metrics requires `Authorization: Bearer <token>`. */
  readonly metricsToken: Option.Option<Redacted.Redacted<string>>
  /** Without a token, /metrics is open in single mode only; true opens it in cluster modes too. */
  readonly metricsPublic: boolean
  readonly alertEvalIntervalMs: number
  /** Timeout of one alert webhook POST. */
  readonly alertWebhookTimeoutMs: number
}

const observabilitySettings: Config.Config<ObservabilityConfigShape> = Config.all({
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("agent-platform")),
  otlpEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  traceRetentionMaxRows: Values.positiveInteger("TRACE_RETENTION_MAX_ROWS").pipe(Config.withDefault(200_000)),
  traceRetentionMaxAgeHours: Values.positiveNumber("TRACE_RETENTION_MAX_AGE_HOURS").pipe(Config.withDefault(72)),
  traceFlushIntervalMs: Values.positiveInteger("TRACE_FLUSH_INTERVAL_MS").pipe(Config.withDefault(1_000)),
  traceTrivialSampleRatio: Values.ratio("TRACE_TRIVIAL_SAMPLE_RATIO").pipe(
    Config.withDefault(0.01)
  ),
  traceSlowMs: Values.nonNegativeNumber("TRACE_SLOW_MS").pipe(Config.withDefault(250)),
  tracePruneIntervalMs: Values.positiveInteger("TRACE_PRUNE_INTERVAL_MS").pipe(Config.withDefault(60_000)),
  metricsToken: Config.option(Config.redacted("METRICS_TOKEN")),
  metricsPublic: Config.boolean("METRICS_PUBLIC").pipe(Config.withDefault(false)),
  alertEvalIntervalMs: Values.positiveInteger("ALERT_EVAL_INTERVAL_MS").pipe(Config.withDefault(15_000)),
  alertWebhookTimeoutMs: Values.positiveInteger("ALERT_WEBHOOK_TIMEOUT_MS").pipe(Config.withDefault(5_000))
})

/** This feature's settings, read from the environment once per process (tests: `layerWith`). */
export class ObservabilityConfig extends Context.Tag("Observability/Config")<ObservabilityConfig, ObservabilityConfigShape>() {
  static readonly config = observabilitySettings
  static readonly layer = Layer.effect(ObservabilityConfig, observabilitySettings)
  static readonly layerWith = (overrides: Partial<ObservabilityConfigShape>) =>
    Layer.effect(ObservabilityConfig, Effect.map(observabilitySettings, (settings) => ({ ...settings, ...overrides })))
}
