import type { HttpApiEndpoint, Headers } from "@effect/platform"
import { HttpApiSchema, HttpTraceContext } from "@effect/platform"
import type { Server } from "bun"
import { type Clock, Context, Effect, Exit, FiberRef, FiberRefs, LogLevel, Option, Runtime, Schema, type Scope, type Tracer } from "effect"
import type { AccessLine, AccessLog } from "./AccessLog.ts"
import { answeredSpan, type TrivialSpanSampling } from "./ServerSpan.ts"

/**
 * The HTTP fast path: hot, read-only HttpApi endpoints answered at Bun's own router (`routes` of
 * `Bun.serve`, matched natively before the adapter's `fetch`) by plain synchronous code: no
 * fiber, no Effect step. A request goes through @effect/platform's HttpApp otherwise: the
 * per-request cost of that stack (adapter, router, global middleware chain, HttpApi decoding,
 * ~35 Effect steps) is about ten times the cost of Bun serving the request (README, "HTTP edge").
 *
 * What it keeps from the full path, so clients, traces, metrics and logs cannot tell them apart:
 * the response (status, JSON body encoded with the endpoint's success schema, content type,
 * `x-request-id`, CORS headers), the `http.server GET` span (parent from W3C/B3 headers, the
 * attributes src/http/ServerSpan.ts and the router set, hence the same HTTP metrics), the INFO
 * access line (`AccessLog`, written as the request middleware writes it), the
 * request's rate-limit tokens and authentication (given by `admit`).
 *
 * The span is made only when it is kept: a trivial request's span (root, < 400, fast) is dropped
 * by the span store but for a sampled share (TRACE_TRIVIAL_SAMPLE_RATIO), so the draw is made
 * here first (`TrivialSpanSampling`) and a span dropped anyway is not made; its request is counted
 * in the HTTP metrics all the same. With an OTLP collector every span is made. Its access line
 * then has no trace ids (they would name a trace nobody stored), and no `fiberId` ever.
 *
 * What it leaves to the full path, untouched: anything `admit` cannot decide synchronously from
 * caches (first use of a token, API keys, refused credentials: their 401s come from the full
 * path), requests with a query string or a body, and an answer that throws (it re-runs there:
 * only reads may be fast endpoints). A rate-limited caller is refused here (`Refusal`), worded
 * as the full path words it, since its tokens were already counted.
 */
export interface FastEndpoint<A> {
  /** A GET endpoint without path parameters whose success is JSON. */
  readonly endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
  /**
   * The endpoint's answer as a plain function of the admitted caller, the function its HttpApi
   * handler maps the caller with. Pure: its encoded body is kept per caller object (a caller's
   * cache entry is replaced, not mutated, when it changes).
   */
  readonly answer: (caller: A) => unknown
}

/** An answer decided before any handler (e.g. the rate limiter's 429), as the full path words it. */
export interface Refusal {
  readonly status: number
  /** The JSON body. */
  readonly body: string
  readonly headers: Record<string, string>
}

/**
 * Decides synchronously, from caches, what the full path's middleware would: serve the request
 * here for this caller, having spent its rate-limit tokens; refuse it as the full path would
 * (429); or undefined, which leaves it to the full path untouched.
 */
export type Admission<A> =
  | { readonly _tag: "Serve"; readonly caller: A }
  | { readonly _tag: "Refuse"; readonly refusal: Refusal }
  | undefined

export type Admit<A> = (request: Request, server: Server<unknown>) => Admission<A>

export interface FastPathHooks<A> {
  readonly admit: Admit<A>
  /** Headers the CORS and security-header middleware would add for this `Origin`. */
  readonly cors: (origin: string | null) => Record<string, string>
  /** The span store's sampling of trivial requests (undefined: every span is made). */
  readonly sampling: TrivialSpanSampling | undefined
  /** The access line without a log call, where it serves the process's loggers. */
  readonly accessLog: AccessLog | undefined
}

/** The same rule as the request middleware (src/http/Middleware.ts): a sane client id is kept. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

const TRACE_HEADERS = ["traceparent", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"] as const

const SPAN_NAME = "http.server GET"

type RouteHandler = (request: Request, server: Server<unknown>) => Response | Promise<Response>

/** What `install` reads once from the process's runtime. */
interface Installed<A> {
  readonly hooks: FastPathHooks<A>
  readonly clock: Clock.Clock
  /** Undefined when tracing is off. */
  readonly tracer: Tracer.Tracer | undefined
  /** The access line: undefined when INFO is filtered out. */
  readonly accessLog: ((line: AccessLine, span: Tracer.Span | undefined) => void) | undefined
}

export const makeFastPath = <A>(endpoints: ReadonlyArray<FastEndpoint<A>>) => {
  let installed: Installed<A> | undefined
  let served = 0

  const routeFor = ({ answer, endpoint }: FastEndpoint<A>): RouteHandler => {
    if (endpoint.method !== "GET" || endpoint.path.includes(":") || endpoint.path.includes("*")) {
      throw new Error(`fast path: ${endpoint.method} ${endpoint.path} is not a GET without path parameters`)
    }
    const path = endpoint.path
    const status = HttpApiSchema.getStatusSuccess(endpoint.successSchema)
    const encode = Schema.encodeSync(endpoint.successSchema as Schema.Schema<unknown, unknown, never>)
    // The encoded answer per caller object: for a cached caller, the body is a lookup.
    const bodies = new WeakMap<object, string>()
    const bodyFor = (caller: A): string => {
      if (typeof caller !== "object" || caller === null) return JSON.stringify(encode(answer(caller)))
      let body = bodies.get(caller)
      if (body === undefined) bodies.set(caller, body = JSON.stringify(encode(answer(caller))))
      return body
    }

    return (request, server) => {
      const live = installed
      if (live === undefined || request.method !== "GET" || request.url.indexOf("?") >= 0) return server.fetch(request)
      const headers = request.headers
      if (headers.has("content-length") || headers.has("transfer-encoding")) return server.fetch(request)
      const admission = live.hooks.admit(request, server)
      if (admission === undefined) return server.fetch(request)
      const started = performance.now()
      let response: Response
      let requestId: string | undefined
      let answered: number
      if (admission._tag === "Serve") {
        let body: string
        try {
          body = bodyFor(admission.caller)
        } catch {
          // An answer that cannot be encoded is the full path's to answer (its error encoding, logging and span).
          return server.fetch(request)
        }
        const given = headers.get("x-request-id")
        requestId = given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
        answered = status
        response = new Response(body, {
          status,
          headers: { ...live.hooks.cors(headers.get("origin")), "content-type": "application/json", "x-request-id": requestId }
        })
      } else {
        // A refusal has no request id, route or access line, as on the full path, where the rate
        // limiter answers before the request middleware and the router run.
        const refusal = admission.refusal
        answered = refusal.status
        response = new Response(refusal.body, {
          status: refusal.status,
          headers: { ...live.hooks.cors(headers.get("origin")), ...refusal.headers, "content-type": "application/json" }
        })
      }
      served++
      const durationMs = performance.now() - started
      const span = live.tracer === undefined ? undefined : serverSpan(live, live.tracer, request, server, requestId, answered, durationMs)
      if (requestId !== undefined && live.accessLog !== undefined) {
        const line: AccessLine = { requestId, method: "GET", path, status: answered, durationMs: Math.round(durationMs * 100) / 100 }
        live.accessLog(line, span?.span)
      }
      span?.end()
      return response
    }

    /**
     * The request's server span, made after the answer with its start time, when it is kept; or
     * undefined, the request counted in the HTTP metrics as the span would have counted it.
     */
    function serverSpan(
      live: Installed<A>,
      tracer: Tracer.Tracer,
      request: Request,
      server: Server<unknown>,
      requestId: string | undefined,
      answered: number,
      durationMs: number
    ): { readonly span: Tracer.Span; readonly end: () => void } | undefined {
      const parent = traceParent(request.headers)
      // A refusal has no route: on the full path the router had not run (metrics: "unmatched").
      const route = requestId === undefined ? "unmatched" : path
      const sampling = live.hooks.sampling
      // As StoringSpanProcessor: a root, fast answer < 400 (with no child span: the answer made none) is trivial.
      const trivial = sampling !== undefined && parent === undefined && answered < 400 && durationMs < sampling.slowMs
      const stored = trivial && sampling.drawTrivial()
      if (trivial && !stored && !sampling.exported) {
        sampling.countUnmade("GET", route, answered, durationMs)
        return undefined
      }
      const endTime = live.clock.unsafeCurrentTimeNanos()
      const span = tracer.span(
        SPAN_NAME,
        Option.fromNullable(parent),
        Context.empty(),
        [],
        endTime - BigInt(Math.round(durationMs * 1e6)),
        "server",
        { captureStackTrace: false }
      )
      span.attribute("http.request.method", "GET")
      span.attribute("url.path", path)
      if (requestId !== undefined) {
        span.attribute("http.route", path)
        span.attribute("request.id", requestId)
      }
      answeredSpan(span, answered, () => server.requestIP(request)?.address, request.headers.get("user-agent"))
      const end = () => span.end(endTime, Exit.void)
      return { span, end: trivial ? () => sampling.endDrawn(span.spanId, stored, end) : end }
    }
  }

  const routes: Record<string, { GET: RouteHandler }> = {}
  for (const endpoint of endpoints) routes[endpoint.endpoint.path] = { GET: routeFor(endpoint) }

  return {
    /** For `Bun.serve`'s `routes` (BunHttpServer.layer): each falls back to the server's `fetch`. */
    routes,
    /** Requests answered here so far (tests tell the two paths apart by it). */
    served: () => served,
    /** Serves requests with this scope's runtime until the scope closes; until then all go to `fetch`. */
    install: (hooks: FastPathHooks<A>): Effect.Effect<void, never, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          const runtime = yield* Effect.runtime<never>()
          const clock = yield* Effect.clock
          const tracer = yield* Effect.tracer
          const refs = runtime.fiberRefs
          const tracing = FiberRefs.getOrDefault(refs, FiberRef.currentTracerEnabled)
          const logsInfo = !LogLevel.lessThan(LogLevel.Info, FiberRefs.getOrDefault(refs, FiberRef.currentMinimumLogLevel))
          const runFork = Runtime.runFork(runtime)
          const viaEffect = (line: AccessLine, span: Tracer.Span | undefined) => {
            const log = Effect.annotateLogs(Effect.logInfo("http"), line)
            runFork(span === undefined ? log : Effect.withParentSpan(log, span))
          }
          const direct = hooks.accessLog
          const nowNanos = () => clock.unsafeCurrentTimeNanos()
          installed = {
            hooks,
            clock,
            tracer: tracing ? tracer : undefined,
            accessLog: !logsInfo
              ? undefined
              : direct !== undefined && direct.handles(FiberRefs.getOrDefault(refs, FiberRef.currentLoggers))
              ? (line, span) => direct.write(line, span, nowNanos)
              : viaEffect
          }
        }),
        () => Effect.sync(() => (installed = undefined))
      )
  }
}

/** The running server's fast path: how many requests it answered (tests tell the two paths apart by it). */
export class HttpFastPath extends Context.Tag("Http/FastPath")<HttpFastPath, { readonly served: () => number }>() {}

const traceParent = (headers: globalThis.Headers): Tracer.ExternalSpan | undefined => {
  if (!headers.has("traceparent") && !headers.has("b3") && !headers.has("x-b3-traceid")) return undefined
  const record: Record<string, string> = {}
  for (const name of TRACE_HEADERS) {
    const value = headers.get(name)
    if (value !== null) record[name] = value
  }
  return Option.getOrUndefined(HttpTraceContext.fromHeaders(record as unknown as Headers.Headers))
}
