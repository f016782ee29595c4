import { type Attributes, type Context as OtelContext, type HrTime, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect } from "effect"
import type { TrivialSpanSampling } from "../http/ServerSpan.ts"
import { recordGenAiSpan } from "./GenAi.ts"
import { HttpMetrics } from "./Metrics.ts"
import { ObservabilityConfig } from "./ObservabilityConfig.ts"

/** One span as stored in observability_traces. */
export interface SpanRow {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly service: string
  readonly operation: string
  readonly kind: string
  readonly status: "ok" | "error"
  readonly startTime: Date
  readonly durationMs: number
  readonly attributes: Record<string, unknown>
  readonly projectId: string | null
  readonly source: "internal" | "ingested"
}

const kindNames: Record<number, string> = {
  [SpanKind.INTERNAL]: "internal",
  [SpanKind.SERVER]: "server",
  [SpanKind.CLIENT]: "client",
  [SpanKind.PRODUCER]: "producer",
  [SpanKind.CONSUMER]: "consumer"
}

const hrToMs = (t: HrTime) => t[0] * 1e3 + t[1] / 1e6

// Spans are readable by project members: keep credentials and query strings (tokens) out.
const droppedAttribute = (key: string) =>
  key === "url.query" ||
  key === "http.request.header.authorization" ||
  key === "http.request.header.cookie" ||
  key === "http.request.header.x-api-key" ||
  key === "http.response.header.set-cookie" ||
  key === "code.stacktrace"

const MAX_ATTRIBUTE_CHARS = 2_000
const PROJECT_PATH = /^\/projects\/([^/?#]+)/

const sanitize = (attributes: Attributes): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || droppedAttribute(key)) continue
    if (key === "url.full" && typeof value === "string") {
      out[key] = value.split("?", 1)[0]
    } else if (typeof value === "string" && value.length > MAX_ATTRIBUTE_CHARS) {
      out[key] = value.slice(0, MAX_ATTRIBUTE_CHARS) + "…"
    } else {
      out[key] = value
    }
  }
  return out
}

/** The project a span belongs to: an explicit `project.id` attribute, else a `/projects/:id/...` URL. */
const projectOf = (attributes: Attributes): string | null => {
  const explicit = attributes["project.id"]
  if (typeof explicit === "string" && explicit.length > 0) return explicit
  const path = attributes["url.path"]
  if (typeof path === "string") {
    const match = PROJECT_PATH.exec(path)
    if (match) return decodeURIComponent(match[1])
  }
  return null
}

export const toSpanRow = (span: ReadableSpan): SpanRow => {
  const attributes = sanitize(span.attributes)
  if (span.status.code === SpanStatusCode.ERROR && span.status.message) {
    attributes["error.message"] = span.status.message.slice(0, 500)
  }
  const service = span.resource.attributes["service.name"]
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    service: typeof service === "string" ? service : "unknown",
    operation: span.name,
    kind: kindNames[span.kind] ?? "internal",
    status: span.status.code === SpanStatusCode.ERROR ? "error" : "ok",
    startTime: new Date(hrToMs(span.startTime)),
    durationMs: Math.round(hrToMs(span.duration) * 1000) / 1000,
    attributes,
    projectId: projectOf(span.attributes),
    source: "internal"
  }
}

/**
 * Ended spans waiting to be written to SQL. Bounded: when the writer falls
 * behind, new spans are dropped (and counted) rather than growing memory.
 */
export class SpanBuffer extends Effect.Service<SpanBuffer>()("Observability/SpanBuffer", {
  sync: () => {
    // Ended spans are converted to rows when drained, off the request path.
    let queue: Array<ReadableSpan> = []
    let dropped = 0
    const capacity = 20_000
    return {
      offer: (span: ReadableSpan) => {
        if (queue.length >= capacity) dropped++
        else queue.push(span)
      },
      /** Everything buffered so far, as rows (the buffer is emptied). */
      drain: Effect.sync(() => {
        const spans = queue
        queue = []
        return spans.map(toSpanRow)
      }),
      dropped: () => dropped
    }
  }
}) {}

/** The `rpc.system` attribute of the platform's RPC server spans: their calls are sampled as requests are. */
export const RPC_SYSTEM = "effect_rpc"

/** Which spans of trivial requests are stored (see ObservabilityConfig.traceTrivialSampleRatio). */
export interface SpanStorageSampling {
  readonly trivialRatio: number
  readonly slowMs: number
}

/**
 * The storage sampling of trivial spans as an object shared by the store and by code that makes
 * a server span only when it will be kept (the HTTP fast path, src/http/FastPath.ts, through the
 * `TrivialSpanSampling` port): for a trivial request it draws first, and makes no span at all
 * when the span would be dropped; the span it then makes is not drawn a second time by the store
 * (`endDrawn`), so a trivial request is stored at the configured ratio on both paths.
 */
export class ServerSpanSampling implements SpanStorageSampling, TrivialSpanSampling {
  private drawn: { readonly spanId: string; readonly stored: boolean } | undefined = undefined

  constructor(
    readonly trivialRatio: number,
    readonly slowMs: number,
    /** Every span also goes to an OTLP collector: every span must be made. */
    readonly exported: boolean
  ) {}

  /** Whether a trivial span is stored: the draw made beforehand for the span now ending, or a new one. */
  storesTrivial(spanId: string): boolean {
    const drawn = this.drawn
    return drawn !== undefined && drawn.spanId === spanId ? drawn.stored : Math.random() < this.trivialRatio
  }

  /** The draw for a trivial request, before its span exists: whether the store would keep it. */
  drawTrivial(): boolean {
    return Math.random() < this.trivialRatio
  }

  /** Ends a span made after `drawTrivial`, so the store keeps that draw. */
  endDrawn(spanId: string, stored: boolean, end: () => void): void {
    this.drawn = { spanId, stored }
    try {
      end()
    } finally {
      this.drawn = undefined
    }
  }

  /** A request whose span was not made counts in the HTTP metrics as its span would have. */
  countUnmade(method: string, route: string, status: number, durationMs: number): void {
    HttpMetrics.recordServerSpan({ "http.request.method": method, "http.route": route, "http.response.status_code": status }, durationMs)
  }
}

/** This process's `ServerSpanSampling` (TracingLive makes it). */
export class ServerSpans extends Context.Tag("Observability/ServerSpans")<ServerSpans, ServerSpanSampling>() {}

/**
 * OTel span processor: converts each ended span to a row for the SQL store,
 * and derives metrics from spans: HTTP request rate/latency from server spans
 * (they carry method, matched route and status, so no extra middleware is
 * needed), LLM tokens/cost and tool errors from GenAI-convention spans.
 * Trivial requests (a fast, successful root server span or RPC call span with
 * no child) are stored only at the configured ratio: stored one by one they would cost the
 * database more than the requests themselves.
 */
export class StoringSpanProcessor implements SpanProcessor {
  /** Open spans that have started a child, so a root can tell at its end whether it did any traced work. */
  private readonly parents = new Set<string>()

  constructor(
    private readonly buffer: SpanBuffer,
    private readonly sampling: SpanStorageSampling = { trivialRatio: 1, slowMs: 0 }
  ) {}

  onStart(span: Span, _parentContext: OtelContext): void {
    const parent = span.parentSpanContext
    if (parent !== undefined && !parent.isRemote) this.parents.add(parent.spanId)
  }

  onEnd(span: ReadableSpan): void {
    const durationMs = hrToMs(span.duration)
    if (span.kind === SpanKind.SERVER) HttpMetrics.recordServerSpan(span.attributes, durationMs)
    if (span.attributes["gen_ai.operation.name"] !== undefined || span.attributes["gen_ai.usage.input_tokens"] !== undefined) {
      recordGenAiSpan(span.attributes, durationMs, span.status.code === SpanStatusCode.ERROR)
    }
    const hadChildren = this.parents.delete(span.spanContext().spanId)
    if (!hadChildren && this.isTrivial(span, durationMs) && !this.storesTrivial(span.spanContext().spanId)) return
    this.buffer.offer(span)
  }

  private storesTrivial(spanId: string): boolean {
    return this.sampling instanceof ServerSpanSampling ? this.sampling.storesTrivial(spanId) : Math.random() < this.sampling.trivialRatio
  }

  /** A root HTTP request that succeeded quickly (whether it did traced work is checked by the caller). */
  private isTrivial(span: ReadableSpan, durationMs: number): boolean {
    if (span.status.code === SpanStatusCode.ERROR || durationMs >= this.sampling.slowMs) return false
    // An RPC call (src/app/RpcRoutes.ts names them): a child of its WebSocket's HTTP span, a
    // call like any request; the socket's span itself is kept (it has children).
    if (span.attributes["rpc.system"] === RPC_SYSTEM) return true
    if (span.kind !== SpanKind.SERVER || span.parentSpanContext !== undefined) return false
    const status = span.attributes["http.response.status_code"]
    return typeof status === "number" && status < 400
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}
