import { HttpLayerRouter, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Config, Effect, Either, Layer, Option } from "effect"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import type { Agent } from "../domain/Agent.ts"
import { AgentLookup } from "../agents/AgentLookup.ts"
import { AgentRepo } from "../agents/AgentRepo.ts"
import { AgentTasks } from "../agents/AgentTasks.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { countedSlots } from "../kernel/CountedSlots.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { A2AFlowRecorder } from "../observability/A2AFlows.ts"
import { agentCard, cardVersionOf, platformCard } from "./AgentCard.ts"
import { makeA2aHandlers } from "./Handlers.ts"
import { dispatch, type FlowOutcome } from "./JsonRpc.ts"
import { PushNotifier } from "./Push.ts"

/** Paths served here, for the 404/405 fallback's route table. */
export const A2A_ROUTES = [
  { method: "GET", path: "/.well-known/agent-card.json" },
  { method: "GET", path: "/agents/:id/.well-known/agent-card.json" },
  { method: "POST", path: "/agents/:id/a2a" },
  { method: "POST", path: "/a2a" },
  { method: "POST", path: "/a2a/message" }
]

/**
 * Bun ends a connection idle for 10 s; an A2A call may rightly be quiet longer
 * (a blocking SendMessage waits for the agent; a stream between keep-alives).
 * `server.timeout(request, 255)` (Bun's maximum) lifts that for A2A calls only;
 * 0 ("never") would also stop Bun from noticing a caller that hangs up, so
 * abandoned calls would no longer be interrupted and recorded as cancelled.
 * @effect/platform-bun keeps the Bun server on its request object (no public
 * accessor): read it if present, otherwise the keep-alive frames still apply.
 */
const noIdleTimeout = (request: HttpServerRequest.HttpServerRequest) => {
  const bun = request as unknown as {
    readonly source?: unknown
    readonly bunServer?: { readonly timeout?: (request: unknown, seconds: number) => void }
  }
  if (typeof bun.bunServer?.timeout === "function" && bun.source instanceof Request) bun.bunServer.timeout(bun.source, 255)
}

/** A2A-Version: header, or the query parameter clients may use instead (spec §3.2.6). */
const versionOf = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["a2a-version"] ?? new URL(request.url, "http://localhost").searchParams.get("A2A-Version") ?? undefined

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?$/i

/**
 * What cards advertise: PUBLIC_BASE_URL, else this machine's loopback. A
 * forged Host header may at most pick a loopback name and port (`bun run dev`
 * and tests are reached on the port they listen on); it never names another
 * host, so a card cannot send clients and their tokens elsewhere.
 */
const baseUrlFrom = (configured: Option.Option<string>, httpPort: number) =>
  (request: HttpServerRequest.HttpServerRequest) =>
    Option.getOrElse(configured, () => {
      const loopback = LOOPBACK_HOST.exec(request.headers.host ?? "")
      return `http://${loopback?.[1]?.toLowerCase() ?? "127.0.0.1"}:${loopback?.[2] ?? httpPort}`
    })

/**
 * A2A over HTTP: agent cards (platform: public; per agent: the caller's
 * agents only, others 404) and the JSON-RPC endpoints (platform `/a2a`,
 * seed `/a2a/message`, per agent `/agents/{id}/a2a`). Every call is recorded
 * as an A2A hop when an A2AFlowRecorder is provided.
 */
export const A2aRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const authenticator = yield* Authenticator
    const agents = yield* AgentLookup
    const handlers = yield* makeA2aHandlers
    const recorder = yield* Effect.serviceOption(A2AFlowRecorder)
    const app = yield* AppConfig
    // The bound port (HTTP_PORT 0 in tests picks one): what a loopback URL needs.
    const server = yield* Effect.serviceOption(HttpServer.HttpServer)
    const boundPort = Option.match(server, {
      onNone: () => app.httpPort,
      onSome: (s) => (s.address._tag === "TcpAddress" ? s.address.port : app.httpPort)
    })
    const baseUrlOf = baseUrlFrom(app.publicBaseUrl, boundPort)
    const keepAlive = yield* Config.integer("A2A_SSE_KEEPALIVE_SECONDS").pipe(Config.withDefault(15), Effect.orDie)
    /** Streams each caller holds open on this node (A2A_MAX_STREAMS_PER_CALLER): each holds a subscription until it ends. */
    const streamSlots = countedSlots(app.a2aMaxStreamsPerCaller)

    /**
     * Who calls, once per request: the one credential check of the A2A path
     * and, on a per-agent endpoint, the one read of that agent (another
     * project's agent is 404). Handlers get both in their CallContext.
     */
    const callerOf = (request: HttpServerRequest.HttpServerRequest, agentId: Option.Option<string>) =>
      Effect.gen(function*() {
        const auth = yield* Effect.either(authenticator.authenticate(credentialsFrom(request)))
        if (auth._tag === "Left") return Either.left(jsonError(401, "Unauthorized", auth.left.message))
        const principal = auth.right
        if (Option.isNone(agentId)) return Either.right({ principal, agent: Option.none<Agent>() })
        const agent = yield* agents.find(agentId.value, [...principal.projects.keys()])
        if (Option.isNone(agent)) return Either.left(jsonError(404, "NotFound", "agent not found"))
        return Either.right({ principal, agent })
      })

    const rpc = (agentId: Option.Option<string>) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const caller = yield* callerOf(request, agentId)
        if (Either.isLeft(caller)) return caller.left
        const { agent, principal } = caller.right
        const body = yield* Effect.orElseSucceed(request.text, () => "")
        noIdleTimeout(request)
        const started = performance.now()
        // Taken now: a streamed answer ends (and is recorded) outside the request's span.
        const traceId = Option.getOrNull(Option.map(yield* Effect.option(Effect.currentSpan), (span) => span.traceId))
        const onDone = (method: string, outcome: FlowOutcome) =>
          Option.match(recorder, {
            onNone: () => Effect.void,
            onSome: (r) =>
              r.record({
                from: request.headers["x-a2a-caller"] ?? `${principal.kind}:${principal.userId}`,
                to: Option.match(agent, { onNone: () => "platform", onSome: (a) => a.id }),
                method,
                durationMs: performance.now() - started,
                projectId: Option.getOrNull(Option.map(agent, (a) => a.projectId)),
                traceId,
                ...outcome
              })
          })
        return yield* dispatch(body, { principal, agent, baseUrl: baseUrlOf(request) }, handlers, onDone, {
          version: versionOf(request),
          keepAlive: `${keepAlive} seconds`,
          takeStreamSlot: () => streamSlots.take(`${principal.kind}:${principal.userId}`)
        })
      })

    yield* router.add("GET", "/.well-known/agent-card.json", Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson(platformCard(baseUrlOf(request), cardVersionOf(versionOf(request))))))
    yield* router.add(
      "GET",
      "/agents/:id/.well-known/agent-card.json",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const { params } = yield* HttpRouter.RouteContext
        const caller = yield* callerOf(request, Option.some(params.id ?? ""))
        if (Either.isLeft(caller)) return caller.left
        return Option.match(caller.right.agent, {
          onNone: () => jsonError(404, "NotFound", "agent not found"),
          onSome: (agent) => HttpServerResponse.unsafeJson(agentCard(agent, baseUrlOf(request), cardVersionOf(versionOf(request))))
        })
      })
    )
    yield* router.add("POST", "/a2a", rpc(Option.none()))
    yield* router.add("POST", "/a2a/message", rpc(Option.none()))
    yield* router.add("POST", "/agents/:id/a2a", Effect.flatMap(HttpRouter.RouteContext, ({ params }) => rpc(Option.some(params.id ?? ""))))
  })
).pipe(Layer.provide(PushNotifier.Default), Layer.provide(AgentTasks.Default), Layer.provide(Layer.merge(AgentLookup.Default, AgentRepo.Default)))
