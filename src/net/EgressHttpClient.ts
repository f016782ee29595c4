import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { EgressPolicy } from "./EgressPolicy.ts"

/**
 * `HttpClient` whose every request goes through the egress policy (checked,
 * pinned to the checked address, redirects re-checked): for services that
 * reach tenant-chosen URLs with @effect/platform's client.
 */
export const EgressHttpClientLive = FetchHttpClient.layer.pipe(
  Layer.provide(Layer.effect(FetchHttpClient.Fetch, Effect.map(EgressPolicy, (policy) => policy.fetch)))
)
