import { describe, expect, test } from "bun:test"
import { Rpc, RpcClient, RpcGroup, type RpcMessage } from "@effect/rpc"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Schema, type Scope } from "effect"

/**
 * What a caller of an `@effect/rpc` client may rely on about its request's send. Every entity
 * client of the cluster, and the runners' clients to each other, are such clients, so a change
 * to how requests are sent (issue #19 tried sending in the caller's fiber instead of a fiber
 * forked per request: ~9 % less CPU per volatile entity message) must keep all of these. That
 * attempt broke the last one: a runner's client whose socket never reopens (its peer killed)
 * holds the send forever, and only the failure the client answers meanwhile ends the call;
 * test/cluster/fault.test.ts then hung instead of failing over.
 */
const Group = RpcGroup.make(Rpc.make("Work", { payload: { n: Schema.Number }, success: Schema.String }))

type Sent = RpcMessage.FromClient<any>
type Request = Extract<Sent, { readonly _tag: "Request" }>
type Write = (message: RpcMessage.FromServer<any>) => Effect.Effect<void>

/**
 * A client whose transport records every message the client sends and hands each request to
 * `onRequest` (what sending it does: answer, hang, die); other messages are taken at once.
 */
const clientWith = (onRequest: (request: Request, write: Write) => Effect.Effect<void> = () => Effect.void) =>
  Effect.gen(function*() {
    const sent: Array<Sent> = []
    let write: Write = () => Effect.void
    const made = yield* RpcClient.makeNoSerialization(Group, {
      onFromClient: ({ message }) => {
        sent.push(message)
        return message._tag === "Request" ? onRequest(message, (m) => write(m)) : Effect.void
      }
    })
    write = made.write
    return { client: made.client, sent, write: made.write }
  })

/** Runs a test's program with a scope for its client. */
const run = <A, E>(program: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(program))

const exitWith = (requestId: RpcMessage.RequestId, exit: Exit.Exit<unknown, unknown>): RpcMessage.FromServer<any> => ({
  _tag: "Exit",
  clientId: 0,
  requestId,
  exit
})
const exitFor = (requestId: RpcMessage.RequestId, value: string) => exitWith(requestId, Exit.succeed(value))

describe("RpcClient: a request's send and its answer", () => {
  test("a reply that arrives while the request is still being sent is the call's answer", async () => {
    const answer = await run(Effect.gen(function*() {
      const { client } = yield* clientWith((request, write) =>
        Effect.zipRight(write(exitFor(request.id, `early ${request.payload.n}`)), Effect.sleep("20 millis"))
      )
      return yield* client.Work({ n: 1 })
    }))
    expect(answer).toBe("early 1")
  })

  test("a reply that arrives after the send is the call's answer", async () => {
    const answer = await run(Effect.gen(function*() {
      const { client } = yield* clientWith((request, write) =>
        Effect.asVoid(Effect.fork(Effect.delay(write(exitFor(request.id, "late")), "10 millis")))
      )
      return yield* client.Work({ n: 2 })
    }))
    expect(answer).toBe("late")
  })

  test("interrupting the caller while its request is being sent sends Interrupt for that request", async () => {
    const sent = await run(Effect.gen(function*() {
      const sending = yield* Deferred.make<void>()
      const { client, sent } = yield* clientWith(() => Effect.zipRight(Deferred.succeed(sending, undefined), Effect.never))
      const call = yield* Effect.fork(client.Work({ n: 3 }))
      yield* Deferred.await(sending)
      yield* Fiber.interrupt(call)
      return sent
    }))
    expect(sent.map((m) => m._tag)).toEqual(["Request", "Interrupt"])
    expect(sent[1]._tag === "Interrupt" && sent[0]._tag === "Request" && sent[1].requestId).toBe(sent[0]._tag === "Request" && sent[0].id)
  })

  test("interrupting the caller while it waits for the reply sends Interrupt; a reply after that is ignored", async () => {
    const { sent, exit } = await run(Effect.gen(function*() {
      const { client, sent, write } = yield* clientWith()
      const call = yield* Effect.fork(client.Work({ n: 4 }))
      while (sent.length === 0) yield* Effect.yieldNow()
      yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(call)
      const request = sent[0]
      if (request._tag === "Request") yield* write(exitFor(request.id, "too late"))
      return { sent, exit: yield* Fiber.await(call) }
    }))
    expect(sent.map((m) => m._tag)).toEqual(["Request", "Interrupt"])
    expect(Exit.isInterrupted(exit)).toBe(true)
  })

  test("a send that dies ends the call with its defect, and no Interrupt follows", async () => {
    const { exit, sent } = await run(Effect.gen(function*() {
      const { client, sent } = yield* clientWith(() => Effect.die(new Error("transport broke")))
      return { exit: yield* Effect.exit(client.Work({ n: 5 })), sent }
    }))
    expect(Exit.isFailure(exit)).toBe(true)
    const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
    expect(defect).toBeInstanceOf(Error)
    expect((defect as Error).message).toBe("transport broke")
    expect(sent.map((m) => m._tag)).toEqual(["Request"])
  })

  test("an uninterruptible caller's send is not cut short by an interruption, and gets its answer", async () => {
    const seen = await run(Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let finished = false
      let answer: string | undefined
      const { client, sent } = yield* clientWith((request, write) =>
        Effect.gen(function*() {
          yield* Deferred.succeed(started, undefined)
          yield* Effect.sleep("30 millis")
          finished = true
          yield* write(exitFor(request.id, "done"))
        })
      )
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.tap(client.Work({ n: 6 }), (a) => Effect.sync(() => {
        answer = a
      }))))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(call)
      return { finished, answer, sent: sent.map((m) => m._tag) }
    }))
    expect(seen).toEqual({ finished: true, answer: "done", sent: ["Request"] })
  })

  test("an answer that arrives while the send never returns (a transport waiting for a socket) ends the call", async () => {
    const exit = await run(Effect.gen(function*() {
      const { client } = yield* clientWith((request, write) =>
        Effect.zipRight(Effect.fork(Effect.delay(write(exitWith(request.id, Exit.fail("peer gone"))), "10 millis")), Effect.never)
      )
      return yield* Effect.exit(client.Work({ n: 7 }).pipe(Effect.timeout("5 seconds")))
    }))
    expect(exit as Exit.Exit<unknown, unknown>).toEqual(Exit.fail("peer gone"))
  })
})
