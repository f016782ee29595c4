import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Stream } from "effect"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import type { Principal } from "../domain/Identity.ts"
import { jsonError } from "../kernel/JsonError.ts"
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
 * on a WebSocket); `?topics=a/,b/` narrows by prefix. Membership is taken at
 * connect time. With REDIS_URL set the bus is Redis, so a subscriber on any
 * node sees events published on every node.
 */
export const EventsSocketRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const authenticator = yield* Authenticator
    yield* router.add(
      "GET",
      EVENTS_SOCKET_PATH,
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const principal = yield* authenticator.authenticate(credentialsFrom(request, { allowQuery: true })).pipe(
          Effect.either
        )
        if (principal._tag === "Left") return jsonError(401, "Unauthorized", principal.left.message)
        if ((request.headers.upgrade ?? "").toLowerCase() !== "websocket") {
          return jsonError(426, "UpgradeRequired", "connect with a WebSocket")
        }
        const topics = topicsOf(request.url)
        const socket = yield* Effect.orDie(request.upgrade)
        const write = yield* socket.writer
        const visible = visibleTo(principal.right)
        // Subscribed (toPull acquires the subscription now) before the greeting: an event
        // published after the client saw "subscribed" is never missed.
        const pull = yield* bus.subscribe("").pipe(
          Stream.filter((e) => visible(e) && topics.some((t) => e.topic.startsWith(t))),
          Stream.toPull
        )
        yield* write(JSON.stringify({ type: "subscribed", topics }))
        yield* pull.pipe(
          Effect.flatMap((chunk) => Effect.forEach(chunk, (event) => write(JSON.stringify(event)), { discard: true })),
          Effect.forever,
          Effect.catchAll(() => Effect.void),
          Effect.forkScoped
        )
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
