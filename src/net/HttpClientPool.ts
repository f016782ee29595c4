/**
 * The size of Bun's outbound HTTP pool: `fetch` runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS`
 * requests at once per process (256 when unset; an open response stream counts until it ends)
 * and queues the rest, whoever sent them. Read when the process makes its first request, so the
 * composition roots set it (`raiseHttpClientPool`) before anything is fetched.
 */
const BUN_DEFAULT = 256

/** The platform's pool unless the operator sets `BUN_CONFIG_MAX_HTTP_REQUESTS`: room for tenants' streams and slow endpoints. */
export const PLATFORM_POOL = 4096

/** Sets the pool to PLATFORM_POOL unless the operator chose a size; call before the first `fetch`. */
export const raiseHttpClientPool = () => {
  if (process.env.BUN_CONFIG_MAX_HTTP_REQUESTS === undefined) process.env.BUN_CONFIG_MAX_HTTP_REQUESTS = String(PLATFORM_POOL)
}

/** The pool this process runs with (as set when it made its first request). */
export const httpClientPoolSize = () => {
  const n = Number(process.env.BUN_CONFIG_MAX_HTTP_REQUESTS)
  return Number.isInteger(n) && n > 0 ? n : BUN_DEFAULT
}
