import type { Usage } from "./Types.ts"
import type { ProviderName } from "../domain/Provider.ts"

/** USD per million tokens (input, output); list prices, longest model-name prefix wins. */
const PRICES: ReadonlyArray<readonly [provider: ProviderName, modelPrefix: string, input: number, output: number]> = [
  ["openai", "gpt-4o-mini", 0.15, 0.6],
  ["openai", "gpt-4o", 2.5, 10],
  ["openai", "gpt-4.1-nano", 0.1, 0.4],
  ["openai", "gpt-4.1-mini", 0.4, 1.6],
  ["openai", "gpt-4.1", 2, 8],
  ["openai", "o3-mini", 1.1, 4.4],
  ["openai", "o4-mini", 1.1, 4.4],
  ["anthropic", "claude-3-5-haiku", 0.8, 4],
  ["anthropic", "claude-haiku-4", 1, 5],
  ["anthropic", "claude-3-7-sonnet", 3, 15],
  ["anthropic", "claude-sonnet-4", 3, 15],
  ["anthropic", "claude-opus-4", 15, 75],
  ["google", "gemini-2.0-flash", 0.1, 0.4],
  ["google", "gemini-2.5-flash", 0.3, 2.5],
  ["google", "gemini-2.5-pro", 1.25, 10],
  ["google", "gemini-1.5-flash", 0.075, 0.3],
  ["google", "gemini-1.5-pro", 1.25, 5]
]

/** Cost of a run in USD; 0 for the local model and for models without a known price (self-hosted). */
export const costUsd = (provider: ProviderName, model: string, usage: Usage): number => {
  let best: (typeof PRICES)[number] | undefined
  for (const p of PRICES) {
    if (p[0] === provider && model.startsWith(p[1]) && (!best || p[1].length > best[1].length)) best = p
  }
  if (!best) return 0
  return (usage.inputTokens * best[2] + usage.outputTokens * best[3]) / 1_000_000
}
