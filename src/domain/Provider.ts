import { Schema } from "effect"

export const ProviderName = Schema.Literal("openai", "anthropic", "google", "local")
export type ProviderName = typeof ProviderName.Type
