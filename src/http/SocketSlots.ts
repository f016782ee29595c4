import { Socket } from "@effect/platform"
import { Effect, type Scope } from "effect"

/**
 * WebSockets a caller holds open on this node, one counter per socket kind (`/ws/chat`,
 * `/ws/events`). `admit` takes a slot for the socket's scope, or answers the client with an
 * error frame and closes it with 1013 when the caller already holds `max`.
 */
export const socketSlots = (kind: string) => {
  const open = new Map<string, number>()
  const admit = (
    caller: string,
    max: number,
    write: (chunk: string | Socket.CloseEvent) => Effect.Effect<void, Socket.SocketError>
  ): Effect.Effect<boolean, never, Scope.Scope> =>
    Effect.suspend(() => {
      const count = open.get(caller) ?? 0
      if (count >= max) {
        return write(JSON.stringify({ type: "error", code: "TooManySockets", message: `at most ${max} ${kind} sockets per caller` })).pipe(
          Effect.zipRight(write(new Socket.CloseEvent(1013, "too many sockets"))),
          Effect.catchAll(() => Effect.void),
          Effect.as(false)
        )
      }
      open.set(caller, count + 1)
      return Effect.as(
        Effect.addFinalizer(() =>
          Effect.sync(() => {
            const left = (open.get(caller) ?? 1) - 1
            if (left <= 0) open.delete(caller)
            else open.set(caller, left)
          })
        ),
        true
      )
    })
  return { admit } as const
}
