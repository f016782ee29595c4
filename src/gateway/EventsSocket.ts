import { HttpLayerRouter, HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { Duration, Effect, Either, Schedule, Stream } from "effect"
import { AuthConfig } from "../auth/AuthConfig.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import { invalidationOf } from "../auth/Invalidation.ts"
import { Principals } from "../auth/Principals.ts"
import type { Principal } from "../domain/Identity.ts"
import { jsonError } from "../kernel/JsonError.ts"
import { socketSlots } from "../http/SocketSlots.ts"
import { EventBus, type PlatformEvent } from "../events/EventBus.ts"

export const EVENTS_SOCKET_PATH = "/ws/events"

/** Comma-separated topic prefixes from `?topics=`; none = everything the caller may see. */
const topicsOf = (url: string): Array<string> => {
  const query = url.indexOf("?")
  const raw = query >= 0 ? new URLSearchParams(url.slice(query + 1)).get("topics") : null
  const topics = (raw ?? "").split(",").map((t) => t.trim()).filter((t) => t.length > 0 && t.length <= 200)
  return topics.length === 0 ? [""] : topics.slice(0, 20)
}

/** Project events go to members of that project only; platform-wide events (no project) to everyone. */
const visibleTo = (principal: Principal) => (event: PlatformEvent) =>
  event.projectId === null || principal.projects.has(event.projectId)

/**
 * `GET /ws/events`: real-time platform events (agent status, deliveries, task
 * events...) as JSON text frames. Authenticated before the upgrade (bearer
 * header, `x-api-key`, or `?access_token=` since browsers cannot set headers
 * on a WebSocket); `?topics=a/,b/` narrows by prefix. The credentials are
 * checked again whenever the user's sessions, memberships or API keys change
 * (the gateway's invalidation events, which ride the same bus) and at least
 * every `principalCacheTtlMs`: deliveries follow the current memberships, and
 * a logout, revoked key, disabled user or expired token closes the socket
 * (1008). With REDIS_URL set the bus is Redis, so a subscriber on any node
 * sees events published on every node.
 */
export const EventsSocketRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const authenticator = yield* Authenticator
    const principals = yield* Principals
    const auth = yield* AuthConfig
    const recheckEvery = Duration.millis(Math.max(1_000, auth.principalCacheTtlMs))
    const app = yield* AppConfig
    // Each socket holds a bus subscription and its buffer: a caller gets a bounded number per node.
    const slots = socketSlots("event", app.wsMaxSocketsPerUser)
    yield* router.add(
      "GET",
      EVENTS_SOCKET_PATH,
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const credentials = credentialsFrom(request, { allowQuery: true })
        const principal = yield* authenticator.authenticate(credentials).pipe(Effect.either)
        if (principal._tag === "Left") return jsonError(401, "Unauthorized", principal.left.message)
        if ((request.headers.upgrade ?? "").toLowerCase() !== "websocket") {
          return jsonError(426, "UpgradeRequired", "connect with a WebSocket")
        }
        const topics = topicsOf(request.url)
        const socket = yield* Effect.orDie(request.upgrade)
        const write = yield* socket.writer
        const caller = `${principal.right.kind}:${principal.right.userId}`
        if (!(yield* slots.admit(caller, write))) return HttpServerResponse.empty()
        let current = principal.right
        let visible = visibleTo(current)
        let closed = false
        /** Authenticates the same credentials again: new memberships apply, ended credentials close the socket. */
        const recheck = Effect.suspend(() =>
          closed ? Effect.void : Effect.flatMap(Effect.either(authenticator.authenticate(credentials)), (fresh) => {
            if (Either.isRight(fresh)) {
              current = fresh.right
              visible = visibleTo(current)
              return Effect.void
            }
            closed = true
            return write(new Socket.CloseEvent(1008, "credentials no longer valid")).pipe(Effect.catchAll(() => Effect.void))
          })
        )
        const onEvent = (event: PlatformEvent) => {
          const invalidation = invalidationOf(event)
          if (invalidation !== undefined) {
            const mine = invalidation.kind === "apiKeys" ? current.kind !== "user" : invalidation.userId === current.userId
            // This node's cache may still hold the entry the event invalidates: read past it.
            return mine ? Effect.zipRight(principals.forgetUser(current.userId), recheck) : Effect.void
          }
          return !closed && visible(event) && topics.some((t) => event.topic.startsWith(t))
            ? write(JSON.stringify(event))
            : Effect.void
        }
        // Subscribed (toPull acquires the subscription now) before the greeting: an event
        // published after the client saw "subscribed" is never missed.
        const pull = yield* Stream.toPull(bus.subscribe(""))
        yield* write(JSON.stringify({ type: "subscribed", topics }))
        yield* pull.pipe(
          Effect.flatMap((chunk) => Effect.forEach(chunk, onEvent, { discard: true })),
          Effect.forever,
          Effect.catchAll(() => Effect.void),
          Effect.forkScoped
        )
        // Invalidation events can be lost (a node restart, Redis down): a periodic check bounds that.
        yield* recheck.pipe(Effect.repeat(Schedule.spaced(recheckEvery)), Effect.delay(recheckEvery), Effect.forkScoped)
        yield* socket.runRaw((data) => {
          // The only client message: a keep-alive ping.
          const text = typeof data === "string" ? data : new TextDecoder().decode(data)
          return text.includes("\"ping\"") ? write(JSON.stringify({ type: "pong", at: Date.now() })) : Effect.void
        }).pipe(Effect.catchAll(() => Effect.void))
        return HttpServerResponse.empty()
      }).pipe(Effect.scoped)
    )
  })
)
