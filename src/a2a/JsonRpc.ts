import { HttpServerResponse } from "@effect/platform"
import type { Rpc, RpcGroup } from "@effect/rpc"
import { RpcSchema } from "@effect/rpc"
import { Cause, Duration, Effect, Either, Exit, Option, ParseResult, Schema, Scope, Stream } from "effect"
import { A2aCodes, A2aError, a2aError, A2aRpcs } from "../../rpc/A2aRpcs.ts"
import type { TaskError } from "../domain/Task.ts"
import type { TooManyRequests } from "../kernel/WireErrors.ts"
import type { CallContext } from "./CallContext.ts"

type Rpcs = RpcGroup.Rpcs<typeof A2aRpcs>
export type A2aMethod = Rpcs["_tag"]
type PayloadOf<K extends A2aMethod> = Rpc.Payload<Extract<Rpcs, { readonly _tag: K }>>

/** What a handler may fail with: the protocol's own errors, the task domain's, or the project's bound on tasks (mapped below). */
export type HandlerError = A2aError | TaskError | TooManyRequests

/** One implementation per Rpc of the group: a Stream for streaming Rpcs, an Effect otherwise. */
export type A2aHandlers = {
  readonly [K in A2aMethod]: (
    payload: PayloadOf<K>,
    ctx: CallContext
  ) => [Rpc.IsStream<Rpcs, K>] extends [true] ? Stream.Stream<unknown, HandlerError> : Effect.Effect<unknown, HandlerError>
}

/** The task domain's errors in A2A's codes (spec §5.4). */
const toA2aError = (e: HandlerError): A2aError => {
  switch (e._tag) {
    case "A2aError":
      return e
    case "TaskNotFound":
      return a2aError(A2aCodes.TaskNotFound, e.message)
    case "TaskNotCancelable":
      return a2aError(A2aCodes.TaskNotCancelable, e.message)
    case "TaskNotContinuable":
    case "TaskNotSubscribable":
      return a2aError(A2aCodes.UnsupportedOperation, e.message)
    case "AgentNotFound":
      // As for a message naming an agent the caller cannot reach (Handlers' resolveAgent).
      return a2aError(A2aCodes.InvalidParams, `Invalid params: no agent ${e.agentId}`)
    case "TooManyRequests":
      return a2aError(A2aCodes.TooManyRequests, e.message, { retryAfterSeconds: e.retryAfterSeconds })
  }
}

type JsonRpcId = string | number | null

/** How one request ended, for its flow record: `cancelled` when the client left before a stream's end. */
export type FlowOutcome =
  | { readonly status: "ok" }
  | { readonly status: "error"; readonly error: string }
  | { readonly status: "cancelled" }
const ok: FlowOutcome = { status: "ok" }
const cancelled: FlowOutcome = { status: "cancelled" }
const failed = (e: A2aError): FlowOutcome => ({ status: "error", error: e.message })

const response = (id: JsonRpcId, body: { result: unknown } | { error: { code: number; message: string; data?: unknown } }) =>
  ({ jsonrpc: "2.0", id, ...body })

const errorBody = (e: A2aError) => ({
  error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) }
})

const fail = (id: JsonRpcId, code: number, message: string, data?: unknown) =>
  HttpServerResponse.unsafeJson(response(id, { error: { code, message, ...(data === undefined ? {} : { data }) } }))

const encoder = new TextEncoder()
const sseFrame = (value: unknown) => encoder.encode(`data: ${JSON.stringify(value)}\n\n`)
/** An SSE comment: ignored by clients, it keeps proxies and idle timers from cutting a quiet stream. */
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n")

/** Versions this endpoint speaks (A2A-Version, Major.Minor); none given means 0.3 (spec §3.2.6). */
const SUPPORTED_VERSIONS = new Set(["1.0", "0.3"])
const majorMinor = (v: string) => /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(v.trim())?.slice(1, 3).join(".")

/**
 * Protobuf-JSON parsers (both official SDKs) accept a field's proto name
 * (`task_id`) as well as its JSON name (`taskId`): the v1.0 methods' top-level
 * params do too. Only the top level: nested values such as metadata are user data.
 */
const camelParams = (params: unknown): unknown => {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return params
  const out: Record<string, unknown> = { ...(params as Record<string, unknown>) }
  for (const [key, value] of Object.entries(params as Record<string, unknown>)) {
    if (!key.includes("_")) continue
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    if (!(camel in out)) out[camel] = value
    delete out[key]
  }
  return out
}

/** Defects become -32603 without details; they are logged with their cause. */
const internal = (cause: Cause.Cause<HandlerError>) =>
  Cause.failureOption(cause).pipe((failure) =>
    failure._tag === "Some"
      ? Effect.succeed(toA2aError(failure.value))
      : Effect.logError("A2A handler defect", cause).pipe(
        Effect.as(new A2aError({ code: A2aCodes.InternalError, message: "Internal error" }))
      )
  )

/**
 * JSON-RPC 2.0 over HTTP for the A2A RpcGroup: the `method` selects the Rpc
 * by tag (-32601 when there is none), its payload schema decodes `params`
 * (-32602 with the issues), streaming Rpcs answer as SSE (one JSON-RPC
 * response per event), others as one JSON response. Errors carry the A2A
 * codes of the `A2aError` the handler failed with, or of its task domain error.
 */
export const dispatch = (
  body: string,
  ctx: CallContext,
  handlers: A2aHandlers,
  onDone: (method: string, outcome: FlowOutcome) => Effect.Effect<void>,
  options: {
    /** The request's A2A-Version (header or query parameter), if any. */
    readonly version?: string | undefined
    readonly keepAlive?: Duration.DurationInput | undefined
    /**
     * Takes one of the caller's stream slots for a streamed answer: its release, or undefined when
     * the caller already holds them all (the call is refused before its handler runs).
     */
    readonly takeStreamSlot?: (() => (() => void) | undefined) | undefined
  } = {}
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.gen(function*() {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return fail(null, A2aCodes.ParseError, "Parse error: the body is not valid JSON")
    }
    if (Array.isArray(parsed)) return fail(null, A2aCodes.InvalidRequest, "Invalid Request: batches are not supported")
    if (typeof parsed !== "object" || parsed === null) return fail(null, A2aCodes.InvalidRequest, "Invalid Request")
    const req = parsed as Record<string, unknown>
    const rawId = req.id
    const idOk = rawId === undefined || rawId === null || typeof rawId === "string" || typeof rawId === "number"
    const id: JsonRpcId = idOk ? ((rawId as JsonRpcId | undefined) ?? null) : null
    if (req.jsonrpc !== "2.0" || typeof req.method !== "string" || !idOk) {
      return fail(id, A2aCodes.InvalidRequest, "Invalid Request: expected jsonrpc \"2.0\", a string method and a string/number id")
    }
    const method = req.method
    if (options.version !== undefined && options.version.trim() !== "") {
      const requested = majorMinor(options.version)
      if (requested === undefined || !SUPPORTED_VERSIONS.has(requested)) {
        return fail(id, A2aCodes.VersionNotSupported, `Version not supported: A2A-Version ${options.version} (supported: 1.0, 0.3)`)
      }
    }
    const rpc = A2aRpcs.requests.get(method)
    if (rpc === undefined) return fail(id, A2aCodes.MethodNotFound, `Method not found: ${method}`)
    // v1.0 method names have no "/": those params are protobuf-JSON.
    const params = method.includes("/") ? req.params ?? {} : camelParams(req.params ?? {})
    const decoded = yield* Effect.either(Schema.decodeUnknown(rpc.payloadSchema as Schema.Schema<unknown, unknown>)(params, { onExcessProperty: "ignore" }))
    if (Either.isLeft(decoded)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => ({ path: i.path.join("."), message: i.message }))
      return fail(id, A2aCodes.InvalidParams, "Invalid params", issues)
    }
    const handler = handlers[method as A2aMethod] as (
      p: unknown,
      c: CallContext
    ) => Effect.Effect<unknown, HandlerError> | Stream.Stream<unknown, HandlerError>
    if (RpcSchema.isStreamSchema(rpc.successSchema)) {
      const scope = yield* Scope.make()
      // The caller's stream slot, given back when the scope closes: on every way the stream
      // ends (an error first, the end, the client gone).
      const slotted = yield* Effect.uninterruptible(Effect.suspend(() => {
        const release = options.takeStreamSlot === undefined ? () => {} : options.takeStreamSlot()
        return release === undefined ? Effect.succeed(false) : Effect.as(Scope.addFinalizer(scope, Effect.sync(release)), true)
      }))
      if (!slotted) {
        yield* Scope.close(scope, Exit.void)
        const e = a2aError(A2aCodes.TooManyRequests, "too many open streams for this caller (A2A_MAX_STREAMS_PER_CALLER); close one first", {
          retryAfterSeconds: 1
        })
        yield* onDone(method, failed(e))
        return HttpServerResponse.unsafeJson(response(id, errorBody(e)))
      }
      // The first event is awaited before answering: an error before it (unknown or terminal
      // task, no agent, role) is a plain JSON-RPC error response, not a 200 event stream with
      // one error frame, so clients keep the typed error (the SDKs' own servers do the same).
      const events = handler(decoded.right, ctx) as Stream.Stream<unknown, HandlerError>
      const pull = yield* Scope.extend(Stream.toPull(events), scope)
      const first = yield* Effect.exit(pull).pipe(Effect.onInterrupt(() => Scope.close(scope, Exit.void)))
      if (Exit.isFailure(first)) {
        const error = Cause.flipCauseOption(first.cause)
        yield* Scope.close(scope, Exit.void)
        if (Option.isNone(error)) {
          yield* onDone(method, ok)
          return HttpServerResponse.stream(Stream.empty, { contentType: "text/event-stream" })
        }
        const e = yield* internal(error.value)
        yield* onDone(method, failed(e))
        return HttpServerResponse.unsafeJson(response(id, errorBody(e)))
      }
      // The error ends the stream as its last frame, so the stream itself exits successfully: remember it.
      let outcome: FlowOutcome = ok
      const rest = Stream.concat(Stream.fromChunk(first.value), Stream.repeatEffectChunkOption(pull))
      const frames = rest.pipe(
        Stream.map((result) => sseFrame(response(id, { result }))),
        Stream.catchAllCause((cause) =>
          Stream.fromEffect(internal(cause).pipe(
            Effect.map((e) => {
              outcome = failed(e)
              return sseFrame(response(id, errorBody(e)))
            })
          ))
        ),
        // Comment frames while the task is quiet (a slow model or tool step); they end with the events.
        Stream.merge(Stream.tick(options.keepAlive ?? "15 seconds").pipe(Stream.drop(1), Stream.as(KEEP_ALIVE)), { haltStrategy: "left" }),
        // One record per request, when the stream ends: interrupted means the client went away.
        Stream.ensuringWith((exit) =>
          Effect.zipRight(
            onDone(method, Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? cancelled : outcome),
            Scope.close(scope, exit)
          )
        )
      )
      return HttpServerResponse.stream(frames, {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
      })
    }
    const result = yield* Effect.exit(handler(decoded.right, ctx) as Effect.Effect<unknown, HandlerError>).pipe(
      // The caller hung up while waiting (a blocking send): the run goes on, the request is recorded as cancelled.
      Effect.onInterrupt(() => onDone(method, cancelled))
    )
    if (result._tag === "Success") {
      yield* onDone(method, ok)
      return HttpServerResponse.unsafeJson(response(id, { result: result.value }))
    }
    const error = yield* internal(result.cause)
    yield* onDone(method, failed(error))
    return HttpServerResponse.unsafeJson(response(id, errorBody(error)))
  })
