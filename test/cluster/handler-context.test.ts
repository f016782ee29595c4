import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Context, Effect, Option, Schema } from "effect"
import { createTestDatabase } from "../support/postgres.ts"
import { singleNodeRuntime } from "../support/singleNode.ts"

/**
 * What a persisted request's handler runs with when the request is handed to its entity on the
 * node that sent it (direct local delivery, our @effect/cluster patch): the context a request
 * read back from storage has, not the sender's. The entity's RPC server runs a handler in the
 * context of the fiber that writes the request merged with the handler's; from the sender's
 * fiber (an HTTP request's) that kept its request, user and route with every pending handler
 * (a pending orchestrator delivery held 122 KB, 74 KB without) and made the merge a new one per
 * message. The handler's span still has the sender's trace.
 */
class SenderOnly extends Context.Tag("test/SenderOnly")<SenderOnly, { readonly user: string }>() {}

const ContextProbe = Entity.make("ContextProbe", [
  Rpc.make("Look", {
    payload: { messageId: Schema.String },
    success: Schema.Struct({ sawSender: Schema.Boolean, traceId: Schema.NullOr(Schema.String) }),
    primaryKey: (p) => p.messageId
  }).annotate(ClusterSchema.Persisted, true)
])

const ContextProbeLive = ContextProbe.toLayer(Effect.succeed(ContextProbe.of({
  Look: () =>
    Effect.gen(function*() {
      const sender = yield* Effect.serviceOption(SenderOnly)
      const span = yield* Effect.option(Effect.currentSpan)
      return { sawSender: Option.isSome(sender), traceId: Option.getOrNull(Option.map(span, (s) => s.traceId)) }
    })
})))

let db: Awaited<ReturnType<typeof createTestDatabase>>

beforeAll(async () => {
  db = await createTestDatabase("handler_context")
})

afterAll(async () => {
  await db?.drop()
})

describe("the context of a persisted request's handler", () => {
  test("is not the sender's: a service only the sender had is not there; the trace is the sender's", async () => {
    const runtime = singleNodeRuntime(ContextProbeLive, db.url)
    try {
      // The first request waits for the node's shards and is read back from storage; the next is handed over.
      await runtime.runPromise(Effect.flatMap(ContextProbe.client, (probe) => probe("one").Look({ messageId: "m-0" })))
      const [seen, traceId] = await runtime.runPromise(Effect.gen(function*() {
        const probe = yield* ContextProbe.client
        const span = yield* Effect.currentSpan
        const seen = yield* probe("one").Look({ messageId: "m-1" })
        return [seen, span.traceId] as const
      }).pipe(Effect.withSpan("sender"), Effect.provideService(SenderOnly, { user: "alice" })))
      expect(seen.sawSender).toBe(false)
      expect(seen.traceId).toBe(traceId)
    } finally {
      await runtime.dispose()
    }
  }, 60_000)
})
