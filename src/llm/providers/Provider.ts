import type { Effect, Stream } from "effect"
import type { LlmError, LlmEvent, LlmRequest } from "../Types.ts"
import type { ProviderName } from "../../domain/Provider.ts"

/**
 * One provider adapter. `open` sends the request and succeeds once the
 * provider accepted it (status line received): that is the retryable part.
 * The returned stream reads the response body as provider-neutral events.
 */
export interface Provider {
  readonly name: ProviderName
  readonly open: (request: LlmRequest) => Effect.Effect<Stream.Stream<LlmEvent, LlmError>, LlmError>
}
