import type { Effect } from "effect"
import type { LlmError, LlmEvent, LlmRequest } from "../Types.ts"
import type { ProviderName } from "../../domain/Provider.ts"

/**
 * A provider's answer, read as provider-neutral events: as they arrive for a
 * model streamed over HTTP (an async iterable over the SDK's stream), all at
 * once for the in-process model.
 *
 * Not an Effect `Stream`: the agent loop reads a few dozen events per model
 * call, and a Stream's fixed cost (~800 runtime steps to open and drain one,
 * ~16 per element) was 40 % of an A2A SendMessage's Effect work (issue #19).
 */
export interface ProviderAnswer {
  readonly events: Iterable<LlmEvent> | AsyncIterable<LlmEvent>
  /** A failure while reading `events`, as this provider's error. */
  readonly toError: (cause: unknown) => LlmError
}

/**
 * One provider adapter. `open` sends the request and succeeds once the
 * provider accepted it (status line received): that is the retryable part.
 * The response's events are then read by the LanguageModel service.
 */
export interface Provider {
  readonly name: ProviderName
  readonly open: (request: LlmRequest) => Effect.Effect<ProviderAnswer, LlmError>
  /** Answers in this process without I/O (the offline model): nothing to time out or retry. */
  readonly inProcess?: true
}

/** The events of an SDK's chunk stream: each chunk mapped, then what the end adds (a finish, pending tool calls). */
export async function* eventsOf<C>(
  chunks: AsyncIterable<C>,
  onChunk: (chunk: C) => Iterable<LlmEvent>,
  onEnd: () => Iterable<LlmEvent> = () => []
): AsyncGenerator<LlmEvent> {
  for await (const chunk of chunks) yield* onChunk(chunk)
  yield* onEnd()
}
