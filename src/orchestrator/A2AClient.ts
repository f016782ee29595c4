import { HttpTraceContext } from "@effect/platform"
import { Data, Duration, Effect, Option, Schema } from "effect"
import type { AgentReply } from "../domain/Orchestration.ts"
import { EGRESS_REFUSED, EgressPolicy } from "../net/EgressPolicy.ts"
import { readCapped } from "../net/ReadCapped.ts"

/**
 * The most of a remote agent's answer (a JSON-RPC reply, an agent card) read into memory: the
 * server is the tenant's choice, and an endless or huge body must not exhaust the process.
 */
export const MAX_A2A_RESPONSE_BYTES = 4 * 1024 * 1024

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

/** How one POST ended, before it is judged: an HTTP status that is not 2xx, or the parsed body. */
type Answer =
  | { readonly _tag: "Status"; readonly status: number }
  | { readonly _tag: "Malformed" }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Body"; readonly body: unknown }

/**
 * A2A client for remote agents: plain JSON-RPC, every request under the
 * egress policy (card URLs and card endpoints are the tenant's choice). The
 * `messageId` is the delivery id, so a redelivered message carries the same id
 * and the receiver can deduplicate.
 *
 * `send` is on every orchestrator delivery's path, so it calls the policy's
 * fetch itself instead of going through @effect/platform's HttpClient: that
 * client's per-request program (span with every header as an attribute,
 * response registry, scoped body reading) cost ~1.5 ms of CPU per send here
 * against ~0.5 ms for the fetch. What it gave is kept: the W3C trace context
 * of the send's span goes out with the request, interruption (and so the
 * timeout) aborts the fetch, and the outcomes map to the same errors.
 */
export class A2AClient extends Effect.Service<A2AClient>()("Orchestrator/A2AClient", {
  effect: Effect.gen(function*() {
    const egress = yield* EgressPolicy

    /**
     * One request under the egress policy for `tenant` (the project it is made for, which it counts
     * against: see EgressSlots.ts), its answer read to at most MAX_A2A_RESPONSE_BYTES.
     */
    const answerOf = async (url: string, init: RequestInit, tenant: string): Promise<Answer> => {
      const res = await egress.fetchWith(url, init, { tenant })
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined)
        return { _tag: "Status", status: res.status }
      }
      const { text, truncated } = await readCapped(res, MAX_A2A_RESPONSE_BYTES)
      if (truncated) return { _tag: "TooLarge" }
      try {
        return { _tag: "Body", body: JSON.parse(text) }
      } catch {
        return { _tag: "Malformed" }
      }
    }

    const post = (endpointUrl: string, headers: Record<string, string>, body: string, tenant: string) =>
      Effect.tryPromise({
        try: (signal) => answerOf(endpointUrl, { method: "POST", headers, body, signal }, tenant),
        // A refusal and a network failure read alike: the egress policy's one text, like a closed port.
        catch: () => new A2ASendError({ message: EGRESS_REFUSED, retryable: true })
      })

    const send = Effect.fn("A2AClient.send")(function*(
      endpointUrl: string,
      version: "1.0" | "0.3",
      message: OutgoingMessage,
      timeout: Duration.DurationInput,
      tenant: string
    ) {
      const headers: Record<string, string> = { "content-type": "application/json", "a2a-version": version }
      const span = yield* Effect.option(Effect.currentSpan)
      if (Option.isSome(span)) {
        Object.assign(headers, HttpTraceContext.toHeaders(span.value))
        span.value.attribute("url.full", endpointUrl)
      }
      const answer = yield* post(endpointUrl, headers, JSON.stringify(sendMessageBody(version, message.messageId, message)), tenant).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new A2ASendError({ message: `no answer within ${Duration.format(timeout)}`, retryable: true })
        })
      )
      if (answer._tag === "Status") {
        if (Option.isSome(span)) span.value.attribute("http.response.status_code", answer.status)
        return yield* new A2ASendError({
          message: `HTTP ${answer.status}`,
          retryable: answer.status >= 500 || answer.status === 429
        })
      }
      if (answer._tag === "Malformed") return yield* new A2ASendError({ message: "malformed response", retryable: true })
      if (answer._tag === "TooLarge") {
        return yield* new A2ASendError({ message: `response over ${MAX_A2A_RESPONSE_BYTES} bytes`, retryable: false })
      }
      const rpc = yield* decodeResponse(answer.body).pipe(
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

    /** GET a JSON document (an agent card) for `tenant` with a timeout; failures as the text the registry records. */
    const fetchJson = (url: string, timeout: Duration.DurationInput, tenant: string) =>
      Effect.tryPromise({
        try: (signal) => answerOf(url, { headers: { accept: "application/json" }, signal }, tenant),
        catch: () => EGRESS_REFUSED
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => `no answer within ${Duration.format(timeout)}`
        }),
        Effect.flatMap((answer): Effect.Effect<unknown, string> => {
          switch (answer._tag) {
            case "Body": return Effect.succeed(answer.body)
            case "Status": return Effect.fail(`HTTP ${answer.status}`)
            case "TooLarge": return Effect.fail(`response over ${MAX_A2A_RESPONSE_BYTES} bytes`)
            case "Malformed": return Effect.fail("response is not JSON")
          }
        })
      )

    return { send, fetchJson } as const
  }),
}) {}
