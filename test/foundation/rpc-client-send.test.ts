import { describe, expect, test } from "bun:test"
import { Rpc, RpcClient, RpcGroup, type RpcMessage } from "@effect/rpc"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Schema } from "effect"

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
type Write = (message: RpcMessage.FromServer<any>) => Effect.Effect<void>

/** A client whose transport is `transport`: it sees every message the client sends. */
const clientWith = (transport: (message: Sent, write: Write) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const sent: Array<Sent> = []
    let write: Write = () => Effect.void
    const made = yield* RpcClient.makeNoSerialization(Group, {
      onFromClient: ({ message }) => {
        sent.push(message)
        return transport(message, (m) => write(m))
      }
    })
    write = made.write
    return { client: made.client, sent, write: made.write }
  })

const exitWith = (requestId: RpcMessage.RequestId, exit: Exit.Exit<unknown, unknown>): RpcMessage.FromServer<any> => ({
  _tag: "Exit",
  clientId: 0,
  requestId,
  exit
})
const exitFor = (requestId: RpcMessage.RequestId, value: string) => exitWith(requestId, Exit.succeed(value))

describe("RpcClient: a request's send and its answer", () => {
  test("a reply that arrives while the request is still being sent is the call's answer", async () => {
    const answer = await Effect.gen(function*() {
      const { client } = yield* clientWith((message, write) =>
        message._tag === "Request"
          ? Effect.zipRight(write(exitFor(message.id, `early ${message.payload.n}`)), Effect.sleep("20 millis"))
          : Effect.void
      )
      return yield* client.Work({ n: 1 })
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(answer).toBe("early 1")
  })

  test("a reply that arrives after the send is the call's answer", async () => {
    const answer = await Effect.gen(function*() {
      const { client } = yield* clientWith((message, write) =>
        message._tag === "Request"
          ? Effect.asVoid(Effect.fork(Effect.delay(write(exitFor(message.id, "late")), "10 millis")))
          : Effect.void
      )
      return yield* client.Work({ n: 2 })
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(answer).toBe("late")
  })

  test("interrupting the caller while its request is being sent sends Interrupt for that request", async () => {
    const sent = await Effect.gen(function*() {
      const sending = yield* Deferred.make<void>()
      const { client, sent } = yield* clientWith((message) =>
        message._tag === "Request" ? Effect.zipRight(Deferred.succeed(sending, undefined), Effect.never) : Effect.void
      )
      const call = yield* Effect.fork(client.Work({ n: 3 }))
      yield* Deferred.await(sending)
      yield* Fiber.interrupt(call)
      return sent
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(sent.map((m) => m._tag)).toEqual(["Request", "Interrupt"])
    expect(sent[1]._tag === "Interrupt" && sent[0]._tag === "Request" && sent[1].requestId).toBe(sent[0]._tag === "Request" && sent[0].id)
  })

  test("interrupting the caller while it waits for the reply sends Interrupt; a reply after that is ignored", async () => {
    const { sent, exit } = await Effect.gen(function*() {
      const { client, sent, write } = yield* clientWith(() => Effect.void)
      const call = yield* Effect.fork(client.Work({ n: 4 }))
      while (sent.length === 0) yield* Effect.yieldNow()
      yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(call)
      const request = sent[0]
      if (request._tag === "Request") yield* write(exitFor(request.id, "too late"))
      return { sent, exit: yield* Fiber.await(call) }
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(sent.map((m) => m._tag)).toEqual(["Request", "Interrupt"])
    expect(Exit.isInterrupted(exit)).toBe(true)
  })

  test("a send that dies ends the call with its defect, and no Interrupt follows", async () => {
    const { exit, sent } = await Effect.gen(function*() {
      const { client, sent } = yield* clientWith((message) =>
        message._tag === "Request" ? Effect.die(new Error("transport broke")) : Effect.void
      )
      return { exit: yield* Effect.exit(client.Work({ n: 5 })), sent }
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(Exit.isFailure(exit)).toBe(true)
    const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
    expect(defect).toBeInstanceOf(Error)
    expect((defect as Error).message).toBe("transport broke")
    expect(sent.map((m) => m._tag)).toEqual(["Request"])
  })

  test("an uninterruptible caller's send is not cut short by an interruption, and gets its answer", async () => {
    const seen = await Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let finished = false
      let answer: string | undefined
      const { client, sent } = yield* clientWith((message, write) =>
        message._tag === "Request"
          ? Effect.gen(function*() {
            yield* Deferred.succeed(started, undefined)
            yield* Effect.sleep("30 millis")
            finished = true
            yield* write(exitFor(message.id, "done"))
          })
          : Effect.void
      )
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.tap(client.Work({ n: 6 }), (a) => Effect.sync(() => {
        answer = a
      }))))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(call)
      return { finished, answer, sent: sent.map((m) => m._tag) }
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(seen).toEqual({ finished: true, answer: "done", sent: ["Request"] })
  })

  test("an answer that arrives while the send never returns (a transport waiting for a socket) ends the call", async () => {
    const exit = await Effect.gen(function*() {
      const { client } = yield* clientWith((message, write) =>
        message._tag === "Request"
          ? Effect.zipRight(
            Effect.fork(Effect.delay(write(exitWith(message.id, Exit.fail("peer gone"))), "10 millis")),
            Effect.never
          )
          : Effect.void
      )
      return yield* Effect.exit(client.Work({ n: 7 }).pipe(Effect.timeout("5 seconds")))
    }).pipe(Effect.scoped, Effect.runPromise)
    expect(exit as Exit.Exit<unknown, unknown>).toEqual(Exit.fail("peer gone"))
  })
})
