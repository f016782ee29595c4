import { Effect, Stream } from "effect"
import { EventBus } from "../events/EventBus.ts"

const TOPIC = "gateway/auth-cache/"

/**
 * Cache invalidation across gateway nodes, over the platform EventBus (Redis
 * pub/sub when REDIS_URL is set): a logout or membership change on one node
 * drops the cached principals on every node at once instead of after the TTL.
 * Events carry a project id no principal holds, so the events WebSocket
 * (which shows project-less events to everyone) never forwards them.
 */
export const INTERNAL_PROJECT = "internal:gateway"

export type Invalidation = { readonly kind: "user"; readonly userId: string } | { readonly kind: "apiKeys" }

export const publishInvalidation = (bus: EventBus["Type"], invalidation: Invalidation) =>
  bus.publish({ topic: `${TOPIC}${invalidation.kind}`, type: "invalidate", projectId: INTERNAL_PROJECT, data: invalidation })

/** The invalidation an event carries, if it is one (for a subscriber of all topics). */
export const invalidationOf = (event: { readonly topic: string; readonly data: unknown }): Invalidation | undefined => {
  if (!event.topic.startsWith(TOPIC)) return undefined
  const data = event.data as Partial<Invalidation> | null
  if (data?.kind === "apiKeys") return { kind: "apiKeys" }
  if (data?.kind === "user" && typeof data.userId === "string") return { kind: "user", userId: data.userId }
  return undefined
}

/** Runs `apply` for every invalidation published by any node (this one included), for the life of the scope. */
export const onInvalidation = (bus: EventBus["Type"], apply: (invalidation: Invalidation) => void) =>
  bus.subscribe(TOPIC).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => {
        const invalidation = invalidationOf(event)
        if (invalidation !== undefined) apply(invalidation)
      })
    ),
    Effect.forkScoped
  )
