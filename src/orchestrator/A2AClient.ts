import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Data, Duration, Effect, Schema } from "effect"
import type { AgentReply } from "../domain/Orchestration.ts"
import { EgressHttpClientLive } from "../net/EgressHttpClient.ts"
import { EGRESS_REFUSED } from "../net/EgressPolicy.ts"

/**
 * Why one send to an A2A agent failed. `retryable`: transport trouble
 * (unreachable, timeout, 5xx, 429) worth another attempt; an answer that is a
 * JSON-RPC error is the agent's verdict and is not retried.
 */
export class A2ASendError extends Data.TaggedError("A2ASendError")<{
  readonly message: string
  readonly retryable: boolean
}> {}

export interface OutgoingMessage {
  readonly messageId: string
  readonly text: string
  readonly contextId?: string | undefined
  readonly metadata: Record<string, unknown>
}

const JsonRpcResponse = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.Struct({ code: Schema.Number, message: Schema.String }))
})
const decodeResponse = Schema.decodeUnknown(JsonRpcResponse)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Text of A2A parts in either version: v1.0 `{ text }`, v0.3 `{ kind: "text", text }`. */
const partsText = (parts: unknown): Array<string> =>
  Array.isArray(parts) ? parts.flatMap((p) => (isRecord(p) && typeof p.text === "string" ? [p.text] : [])) : []

/**
 * The reply text of a SendMessage result: a direct message, or a task's
 * artifacts (falling back to its status message).
 */
export const replyText = (result: unknown): string => {
  if (!isRecord(result)) return ""
  const message = isRecord(result.message) ? result.message : result.kind === "message" ? result : undefined
  if (message) return partsText(message.parts).join("")
  const task = isRecord(result.task) ? result.task : result.kind === "task" ? result : undefined
  if (task) {
    const artifacts = Array.isArray(task.artifacts) ? task.artifacts : []
    const fromArtifacts = artifacts.flatMap((a) => (isRecord(a) ? partsText(a.parts) : []))
    if (fromArtifacts.length > 0) return fromArtifacts.join("")
    const status = isRecord(task.status) ? task.status : undefined
    if (status && isRecord(status.message)) return partsText(status.message.parts).join("")
  }
  return ""
}

/** The JSON-RPC request for SendMessage in the version the agent's card declares. */
const sendMessageBody = (version: "1.0" | "0.3", id: string, m: OutgoingMessage) =>
  version === "1.0"
    ? {
      jsonrpc: "2.0",
      id,
      method: "SendMessage",
      params: {
        message: {
          messageId: m.messageId,
          role: "ROLE_USER",
          parts: [{ text: m.text }],
          ...(m.contextId ? { contextId: m.contextId } : {}),
          metadata: m.metadata
        }
      }
    }
    : {
      jsonrpc: "2.0",
      id,
      method: "message/send",
      params: {
        message: {
          kind: "message",
          messageId: m.messageId,
          role: "user",
          parts: [{ kind: "text", text: m.text }],
          ...(m.contextId ? { contextId: m.contextId } : {}),
          metadata: m.metadata
        }
      }
    }

/**
 * A2A client for remote agents: plain JSON-RPC over HttpClient (Effect-native
 * timeouts and interruption), every request under the egress policy (card
 * URLs and card endpoints are the tenant's choice). The `messageId` is the delivery id, so a
 * redelivered message carries the same id and the receiver can deduplicate.
 */
export class A2AClient extends Effect.Service<A2AClient>()("Orchestrator/A2AClient", {
  effect: Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)

    const send = Effect.fn("A2AClient.send")(function*(
      endpointUrl: string,
      version: "1.0" | "0.3",
      message: OutgoingMessage,
      timeout: Duration.DurationInput
    ) {
      const request = HttpClientRequest.post(endpointUrl).pipe(
        HttpClientRequest.setHeader("a2a-version", version),
        HttpClientRequest.bodyUnsafeJson(sendMessageBody(version, message.messageId, message))
      )
      const body = yield* http.execute(request).pipe(
        Effect.flatMap((res) => res.json),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new A2ASendError({ message: `no answer within ${Duration.format(timeout)}`, retryable: true })
        }),
        Effect.catchTags({
          // The egress policy's one text: a refused address reads like a closed port.
          RequestError: () => Effect.fail(new A2ASendError({ message: EGRESS_REFUSED, retryable: true })),
          ResponseError: (e) =>
            Effect.fail(
              new A2ASendError({
                message: e.reason === "StatusCode" ? `HTTP ${e.response.status}` : "malformed response",
                retryable: e.reason !== "StatusCode" || e.response.status >= 500 || e.response.status === 429
              })
            )
        }),
        Effect.scoped
      )
      const rpc = yield* decodeResponse(body).pipe(
        Effect.mapError(() => new A2ASendError({ message: "not a JSON-RPC 2.0 response", retryable: false }))
      )
      if (rpc.error) {
        return yield* new A2ASendError({
          message: `agent error ${rpc.error.code}: ${rpc.error.message}`,
          retryable: false
        })
      }
      return { text: replyText(rpc.result), raw: rpc.result ?? null } satisfies AgentReply
    })

    /** GET a JSON document (an agent card) with a timeout. */
    const fetchJson = (url: string, timeout: Duration.DurationInput) =>
      http.get(url, { headers: { accept: "application/json" } }).pipe(
        Effect.flatMap((res) => res.json),
        Effect.scoped,
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => `no answer within ${Duration.format(timeout)}`
        }),
        Effect.catchTags({
          RequestError: () => Effect.fail(EGRESS_REFUSED),
          ResponseError: (e) =>
            Effect.fail(e.reason === "StatusCode" ? `HTTP ${e.response.status}` : "response is not JSON")
        })
      )

    return { send, fetchJson } as const
  }),
  dependencies: [EgressHttpClientLive]
}) {}
