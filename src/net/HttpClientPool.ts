/**
 * The size of Bun's outbound HTTP pool: `fetch` runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS`
 * requests at once per process (256 when unset; an open response stream counts until it ends)
 * and queues the rest, whoever sent them. Bun reads it when the process starts, not later, so
 * `bun run dev` and `bun run runner` (package.json) start the platform with 4,096 unless the
 * operator set it.
 */
const BUN_DEFAULT = 256

/** The pool this process runs with. */
export const httpClientPoolSize = () => {
  const n = Number(process.env.BUN_CONFIG_MAX_HTTP_REQUESTS)
  return Number.isInteger(n) && n > 0 ? n : BUN_DEFAULT
}
