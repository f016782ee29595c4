import type { HttpApiEndpoint, Headers } from "@effect/platform"
import { HttpApiSchema, HttpTraceContext } from "@effect/platform"
import type { Server } from "bun"
import { Context, Effect, FiberRef, LogLevel, Option, Runtime, Schema, type Scope, type Tracer } from "effect"

/**
 * The HTTP fast path: hot, read-only HttpApi endpoints answered at Bun's own router (`routes` of
 * `Bun.serve`, matched natively before the adapter's `fetch`) with the per-request work the
 * router's middleware does, as plain code, and the endpoint's handler run once on the process's
 * runtime. A request goes through @effect/platform's HttpApp otherwise: the per-request cost of
 * that stack (adapter, router, global middleware chain, HttpApi decoding, ~35 Effect steps) is
 * about ten times the cost of Bun serving the request (README, "HTTP edge").
 *
 * What it keeps from the full path, so clients, traces, metrics and logs cannot tell them apart:
 * the response (status, JSON body encoded with the endpoint's success schema, content type,
 * `x-request-id`, CORS headers), the `http.server GET` span (parent from W3C/B3 headers, the
 * attributes src/http/ServerSpan.ts and the router set, hence the same HTTP metrics), the INFO
 * access line, the request's rate-limit tokens and authentication (given by `admit`).
 *
 * What it leaves to the full path, untouched: anything `admit` cannot decide synchronously from
 * caches (first use of a token, API keys, refused credentials: their 401s come from the full
 * path), requests with a query string or a body, and a handler that fails (it re-runs there:
 * only reads may be fast endpoints). A rate-limited caller is refused here (`Refusal`), worded
 * as the full path words it, since its tokens were already counted.
 */
export interface FastEndpoint<R> {
  /** A GET endpoint without path parameters whose success is JSON. */
  readonly endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
  /** The endpoint's handler, a read; its context comes from `admit`. */
  readonly handler: Effect.Effect<unknown, unknown, R>
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
 * here with the handler's context (the caller), having spent its rate-limit tokens; refuse it as
 * the full path would (429); or undefined, which leaves it to the full path untouched.
 */
export type Admission<R> =
  | { readonly _tag: "Serve"; readonly context: Context.Context<R> }
  | { readonly _tag: "Refuse"; readonly refusal: Refusal }
  | undefined

export type Admit<R> = (request: Request, server: Server<unknown>) => Admission<R>

export interface FastPathHooks<R> {
  readonly admit: Admit<R>
  /** Headers the CORS middleware would add for this `Origin`. */
  readonly cors: (origin: string | null) => Record<string, string>
}

/** The same rule as the request middleware (src/http/Middleware.ts): a sane client id is kept. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

const TRACE_HEADERS = ["traceparent", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"] as const

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers: Record<string, string> | undefined
}

type RouteHandler = (request: Request, server: Server<unknown>) => Response | Promise<Response>

export const makeFastPath = <R>(endpoints: ReadonlyArray<FastEndpoint<R>>) => {
  let installed: {
    readonly hooks: FastPathHooks<R>
    readonly runFork: ReturnType<typeof Runtime.runFork<never>>
  } | undefined
  let served = 0

  const routeFor = ({ endpoint, handler }: FastEndpoint<R>): RouteHandler => {
    if (endpoint.method !== "GET" || endpoint.path.includes(":") || endpoint.path.includes("*")) {
      throw new Error(`fast path: ${endpoint.method} ${endpoint.path} is not a GET without path parameters`)
    }
    const path = endpoint.path
    const status = HttpApiSchema.getStatusSuccess(endpoint.successSchema)
    const encode = Schema.encodeSync(endpoint.successSchema as Schema.Schema<unknown, unknown, never>)
    const spanName = "http.server GET"
    const succeeded = (value: unknown): Answer => ({ status, body: JSON.stringify(encode(value)), headers: undefined })

    /**
     * One fiber: the server span around the handler (or the refusal), the access line. A refusal
     * has no request id, route or access line, as on the full path, where the rate limiter answers
     * before the request middleware and the router run.
     */
    const program = (request: Request, server: Server<unknown>, answer: Effect.Effect<Answer, unknown>, requestId: string | undefined, started: number) =>
      Effect.useSpan(spanName, { parent: traceParent(request.headers), kind: "server", captureStackTrace: false }, (span) => {
        span.attribute("http.request.method", "GET")
        span.attribute("url.path", path)
        // A refusal has no route either: on the full path the router had not run (metrics: "unmatched").
        if (requestId !== undefined) {
          span.attribute("http.route", path)
          span.attribute("request.id", requestId)
        }
        // The handler's spans and the access line (its trace and span ids) under the server span.
        return Effect.withParentSpan(Effect.flatMap(answer, (answered) => {
          span.attribute("http.response.status_code", answered.status)
          // As src/http/ServerSpan.ts: the costlier attributes only on answers >= 400.
          if (answered.status >= 400) {
            const address = server.requestIP(request)?.address
            if (address !== undefined) span.attribute("client.address", address)
            const agent = request.headers.get("user-agent")
            if (agent !== null) span.attribute("user_agent.original", agent)
          }
          return Effect.withFiberRuntime<Answer>((fiber) =>
            requestId === undefined || LogLevel.lessThan(LogLevel.Info, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
              ? Effect.succeed(answered)
              : Effect.as(
                Effect.logInfo("http").pipe(Effect.annotateLogs({
                  requestId,
                  method: "GET",
                  path,
                  status: answered.status,
                  durationMs: Math.round((performance.now() - started) * 100) / 100
                })),
                answered
              )
          )
        }), span)
      })

    return (request, server) => {
      const live = installed
      if (live === undefined || request.method !== "GET" || request.url.indexOf("?") >= 0) return server.fetch(request)
      const headers = request.headers
      if (headers.has("content-length") || headers.has("transfer-encoding")) return server.fetch(request)
      const admission = live.hooks.admit(request, server)
      if (admission === undefined) return server.fetch(request)
      served++
      const started = performance.now()
      let requestId: string | undefined
      let answer: Effect.Effect<Answer, unknown>
      if (admission._tag === "Serve") {
        const given = headers.get("x-request-id")
        requestId = given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
        answer = Effect.annotateLogs(Effect.map(Effect.provide(handler, admission.context), succeeded), "requestId", requestId)
      } else {
        answer = Effect.succeed(admission.refusal)
      }
      const fiber = live.runFork(program(request, server, answer, requestId, started))
      const respond = (exit: NonNullable<ReturnType<typeof fiber.unsafePoll>>): Response | Promise<Response> =>
        exit._tag === "Success"
          ? new Response(exit.value.body, {
            status: exit.value.status,
            headers: {
              ...live.hooks.cors(headers.get("origin")),
              ...exit.value.headers,
              "content-type": "application/json",
              ...(requestId === undefined ? {} : { "x-request-id": requestId })
            }
          })
          // A failed read is answered by the full path (its error encoding, logging and span).
          : server.fetch(request)
      const done = fiber.unsafePoll()
      return done !== null ? respond(done) : new Promise((resolve) => fiber.addObserver((exit) => resolve(respond(exit))))
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
    install: (hooks: FastPathHooks<R>): Effect.Effect<void, never, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.map(Effect.runtime<never>(), (runtime) => {
          installed = { hooks, runFork: Runtime.runFork(runtime) }
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
