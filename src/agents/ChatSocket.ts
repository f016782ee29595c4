import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Exit, Layer, Option, Schema, Stream } from "effect"
import { Authenticator, credentialsFrom } from "../auth/Authenticator.ts"
import { AppConfig } from "../config/AppConfig.ts"
import type { Principal } from "../domain/Identity.ts"
import { hasRole } from "../auth/ProjectAccess.ts"
import { jsonError } from "../kernel/JsonError.ts"
import type { TooManyRequests } from "../kernel/WireErrors.ts"
import { socketSlots } from "../http/SocketSlots.ts"
import { bodyProblemMessage, jsonTextProblem } from "../kernel/JsonText.ts"
import { isTerminal, type TaskError, type TaskProgress, textOf } from "../domain/Task.ts"
import { AgentRepo } from "./AgentRepo.ts"
import { AgentTasks } from "./AgentTasks.ts"

export const CHAT_SOCKET_PATH = "/ws/chat"

const ClientMessage = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("chat"),
    /** Client-chosen id: several chats run concurrently on one socket. */
    sessionId: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
    agentId: Schema.String,
    text: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200_000)),
    contextId: Schema.optional(Schema.String.pipe(Schema.maxLength(128)))
  }),
  /** After a reconnect: continue streaming a task that is still running (or get its result). */
  Schema.Struct({ type: Schema.Literal("resume"), sessionId: Schema.optional(Schema.String), taskId: Schema.String }),
  Schema.Struct({ type: Schema.Literal("cancel"), taskId: Schema.String }),
  Schema.Struct({ type: Schema.Literal("ping") })
)
const decodeClient = Schema.decodeUnknownEither(Schema.parseJson(ClientMessage))

/** A task domain error as this socket's error frame: `code` names the error (the socket has no numeric codes). */
const chatError = (e: TaskError | TooManyRequests, where: { readonly sessionId?: string; readonly taskId?: string }) => ({
  type: "error",
  ...where,
  message: e.message,
  code: e._tag,
  ...(e._tag === "TooManyRequests" ? { retryAfterSeconds: e.retryAfterSeconds } : {})
})

/**
 * `GET /ws/chat`: chat with agents over one WebSocket, tokens streamed as
 * they are generated. Each `chat` runs as its own fiber (concurrent
 * sessions); a dropped client reconnects with the same token and sends
 * `resume` with the task id to get the rest of the stream (tasks run in the
 * Agent entity, independent of the socket). Bounded: at most
 * `wsMaxChatsPerSocket` streams per socket (each holds a task and its
 * buffers) and `wsMaxSocketsPerUser` sockets per caller on this node.
 */
export const ChatSocketRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const authenticator = yield* Authenticator
    const agents = yield* AgentRepo
    const tasks = yield* AgentTasks
    const config = yield* AppConfig
    const slots = socketSlots("chat", config.wsMaxSocketsPerUser)
    yield* router.add(
      "GET",
      CHAT_SOCKET_PATH,
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const auth = yield* authenticator.authenticate(credentialsFrom(request, { allowQuery: true })).pipe(Effect.either)
        if (auth._tag === "Left") return jsonError(401, "Unauthorized", auth.left.message)
        if ((request.headers.upgrade ?? "").toLowerCase() !== "websocket") {
          return jsonError(426, "UpgradeRequired", "connect with a WebSocket")
        }
        const principal: Principal = auth.right
        const socket = yield* Effect.orDie(request.upgrade)
        const write = yield* socket.writer
        const send = (value: unknown) => write(JSON.stringify(value)).pipe(Effect.catchAll(() => Effect.void))

        const caller = `${principal.kind}:${principal.userId}`
        if (!(yield* slots.admit(caller, write))) return HttpServerResponse.empty()

        /**
         * Runs `prepare` (the agent or task lookup) in a slot of this socket, then forks the stream
         * it returns in the same slot. The slot is taken before the lookup, so a burst of chats
         * costs at most `wsMaxChatsPerSocket` lookups; it is freed when the stream ends or when
         * `prepare` returns none (it answered the client itself) or fails.
         */
        let streaming = 0
        const withSlot = <E, R>(sessionId: string, prepare: Effect.Effect<Option.Option<Effect.Effect<void>>, E, R>) =>
          Effect.suspend(() => {
            if (streaming >= config.wsMaxChatsPerSocket) {
              return send({
                type: "error",
                sessionId,
                code: "TooManyChats",
                message: `at most ${config.wsMaxChatsPerSocket} chats at once on one socket`
              })
            }
            streaming++
            const release = Effect.sync(() => {
              streaming--
            })
            return prepare.pipe(
              Effect.onExit((exit) => Exit.isSuccess(exit) && Option.isSome(exit.value) ? Effect.void : release),
              Effect.flatMap(Option.match({
                onNone: () => Effect.void,
                onSome: (run) => Effect.asVoid(Effect.forkScoped(Effect.ensuring(run, release)))
              }))
            )
          })

        /** A task's progress as chat frames; a text answer arrives as tokens, the final artifact only when nothing streamed. */
        const forward = (sessionId: string, events: Stream.Stream<TaskProgress, TaskError | TooManyRequests>) => {
          let streamedText = false
          return events.pipe(
            Stream.runForEach((p) => {
              switch (p._tag) {
                case "Snapshot":
                  return send({ type: "task", sessionId, taskId: p.task.id, contextId: p.task.contextId, state: p.task.status.state })
                case "Delta":
                  streamedText = true
                  return send({ type: "token", sessionId, taskId: p.taskId, text: p.text })
                case "Artifact":
                  return streamedText ? Effect.void : send({ type: "token", sessionId, taskId: p.taskId, text: textOf(p.artifact.parts) })
                case "Status":
                  return p.final
                    ? send({
                      type: "done",
                      sessionId,
                      taskId: p.taskId,
                      state: p.status.state,
                      output: p.status.message ? textOf(p.status.message.parts) : null
                    })
                    : send({ type: "status", sessionId, taskId: p.taskId, state: p.status.state })
                case "Tool":
                  // Tool calls as they start and finish, so a chat client can show them beside the answer.
                  return send({ type: "tool", sessionId, taskId: p.taskId, phase: p.phase, name: p.name, callId: p.callId, isError: p.isError ?? false })
              }
            }),
            Effect.catchAll((e) => send(chatError(e, { sessionId })))
          )
        }

        const visibleTask = (taskId: string) =>
          Effect.map(tasks.find(taskId), Option.filter((t) => principal.projects.has(t.projectId)))

        const onMessage = (raw: string) =>
          Effect.gen(function*() {
            // NUL (Postgres text cannot store it) or deep nesting: refused like the HTTP edge does.
            const problem = jsonTextProblem(raw)
            if (problem !== undefined) return yield* send({ type: "error", message: bodyProblemMessage(problem, "a message") })
            const parsed = decodeClient(raw)
            if (parsed._tag === "Left") return yield* send({ type: "error", message: "invalid message" })
            const msg = parsed.right
            switch (msg.type) {
              case "ping":
                return yield* send({ type: "pong", at: Date.now() })
              case "chat": {
                const sessionId = msg.sessionId ?? crypto.randomUUID()
                return yield* withSlot(sessionId, Effect.gen(function*() {
                  const agent = yield* agents.find(msg.agentId, [...principal.projects.keys()])
                  if (Option.isNone(agent)) {
                    yield* send({ type: "error", sessionId, message: "agent not found" })
                    return Option.none()
                  }
                  if (!hasRole(principal.projects.get(agent.value.projectId), "developer")) {
                    yield* send({ type: "error", sessionId, message: "chatting with this agent requires the developer role" })
                    return Option.none()
                  }
                  const events = tasks.stream({
                    agent: agent.value,
                    message: {
                      messageId: crypto.randomUUID(),
                      role: "user",
                      parts: [{ kind: "text", text: msg.text }],
                      ...(msg.contextId ? { contextId: msg.contextId } : {})
                    },
                    createdBy: principal.kind === "user" ? principal.userId : null
                  })
                  // Each chat is its own fiber: sessions stream concurrently on one socket.
                  return Option.some(forward(sessionId, events))
                }))
              }
              case "resume": {
                const sessionId = msg.sessionId ?? msg.taskId
                return yield* withSlot(sessionId, Effect.gen(function*() {
                  const task = yield* visibleTask(msg.taskId)
                  if (Option.isNone(task)) {
                    yield* send({ type: "error", sessionId, message: "task not found" })
                    return Option.none()
                  }
                  const t = task.value.task
                  if (isTerminal(t.status.state)) {
                    yield* send({
                      type: "done",
                      sessionId,
                      taskId: t.id,
                      state: t.status.state,
                      output: t.status.message ? textOf(t.status.message.parts) : null
                    })
                    return Option.none()
                  }
                  return Option.some(forward(sessionId, tasks.subscribe(msg.taskId)))
                }))
              }
              case "cancel": {
                const task = yield* visibleTask(msg.taskId)
                if (Option.isNone(task)) return yield* send({ type: "error", message: "task not found" })
                return yield* tasks.cancel(task.value).pipe(
                  Effect.matchEffect({
                    onFailure: (e) => send(chatError(e, { taskId: msg.taskId })),
                    onSuccess: () => Effect.void
                  })
                )
              }
            }
          })

        yield* send({ type: "ready" })
        yield* socket.runRaw((data) => onMessage(typeof data === "string" ? data : new TextDecoder().decode(data))).pipe(
          Effect.catchAll(() => Effect.void)
        )
        return HttpServerResponse.empty()
      }).pipe(Effect.scoped)
    )
  })
).pipe(Layer.provide(AgentTasks.Default), Layer.provide(AgentRepo.Default))
