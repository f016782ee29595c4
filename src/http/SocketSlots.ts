import { Socket } from "@effect/platform"
import { Effect, type Scope } from "effect"
import { countedSlots } from "../kernel/CountedSlots.ts"

/**
 * WebSockets a caller holds open on this node, one counter per socket kind (`/ws/chat`,
 * `/ws/events`). `admit` takes a slot for the socket's scope, or answers the client with an
 * error frame and closes it with 1013 when the caller already holds `max`.
 */
export const socketSlots = (kind: string, max: number) => {
  const open = countedSlots(max)
  const admit = (
    caller: string,
    write: (chunk: string | Socket.CloseEvent) => Effect.Effect<void, Socket.SocketError>
  ): Effect.Effect<boolean, never, Scope.Scope> =>
    Effect.suspend(() => {
      const release = open.take(caller)
      if (release === undefined) {
        return write(JSON.stringify({ type: "error", code: "TooManySockets", message: `at most ${max} ${kind} sockets per caller` })).pipe(
          Effect.zipRight(write(new Socket.CloseEvent(1013, "too many sockets"))),
          Effect.catchAll(() => Effect.void),
          Effect.as(false)
        )
      }
      return Effect.as(Effect.addFinalizer(() => Effect.sync(release)), true)
    })
  return { admit } as const
}
