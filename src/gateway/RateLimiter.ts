import { Context, Effect, Layer, Option, Redacted } from "effect"
import { AuthConfig } from "../auth/AuthConfig.ts"
import { openRedis } from "../net/RedisConnection.ts"

export interface Bucket {
  /** Tokens added per second. */
  readonly rate: number
  /** Bucket size: the burst a quiet client may spend at once. */
  readonly burst: number
}

export interface Decision {
  readonly allowed: boolean
  /** When refused: how long until one token is back. */
  readonly retryAfterMs: number
}

const ALLOWED: Decision = { allowed: true, retryAfterMs: 0 }

/**
 * Token-bucket rate limiting. The in-memory store limits per process; with
 * REDIS_URL the buckets live in Redis (one atomic script per request, on
 * Redis' clock) so a limit holds across every gateway node.
 */
export class RateLimiter extends Effect.Tag("Gateway/RateLimiter")<RateLimiter, {
  readonly consume: (key: string, bucket: Bucket) => Effect.Effect<Decision>
  /**
   * The in-memory store's plain-function path, `nowMs` read from the caller's Effect Clock:
   * the per-request middleware spends a token without an Effect step. Absent for Redis.
   */
  readonly consumeAt?: ((key: string, bucket: Bucket, nowMs: number) => Decision) | undefined
  readonly backend: "memory" | "redis"
}>() {
  static readonly memory = Layer.sync(RateLimiter, () => {
    const buckets = new Map<string, { tokens: number; at: number }>()
    // Effect's Clock, so TestClock drives refills. Nanoseconds: the live clock derives them from
    // performance.now(), a monotonic source (a wall-clock step must not refill or drain a bucket).
    // Read inside the sync block: no other consume can run between the read and the update.
    const consumeAt = (key: string, { burst, rate }: Bucket, now: number): Decision => {
      if (buckets.size > 100_000) sweep(now)
      const state = buckets.get(key)
      const tokens = state === undefined ? burst : Math.min(burst, state.tokens + ((now - state.at) / 1000) * rate)
      if (tokens >= 1) {
        // Updated in place: no allocation per request for a known client.
        if (state === undefined) buckets.set(key, { tokens: tokens - 1, at: now })
        else (state.tokens = tokens - 1, state.at = now)
        return ALLOWED
      }
      if (state === undefined) buckets.set(key, { tokens, at: now })
      else (state.tokens = tokens, state.at = now)
      return { allowed: false, retryAfterMs: Math.ceil(((1 - tokens) / rate) * 1000) }
    }
    const consume = (key: string, bucket: Bucket) =>
      Effect.clockWith((clock) => Effect.sync(() => consumeAt(key, bucket, Number(clock.unsafeCurrentTimeNanos()) / 1_000_000)))
    // Buckets that have refilled completely carry no information: drop them.
    const sweep = (now: number) => {
      for (const [key, state] of buckets) if (now - state.at > 600_000) buckets.delete(key)
    }
    return { consume, consumeAt, backend: "memory" as const }
  })

  static readonly redis = (url: string, prefix: string) =>
    Layer.scoped(
      RateLimiter,
      Effect.gen(function*() {
        const client = yield* openRedis(url)
        // Redis down: buckets of this process, as without REDIS_URL (a limit per node, not none).
        const fallback = Context.get(yield* Layer.build(RateLimiter.memory), RateLimiter)
        let sha: string | undefined
        const evaluate = async (key: string, bucket: Bucket): Promise<unknown> => {
          const args = ["1", prefix + key, String(bucket.rate), String(bucket.burst)]
          sha ??= (await client.send("SCRIPT", ["LOAD", TOKEN_BUCKET_LUA])) as string
          try {
            return await client.send("EVALSHA", [sha, ...args])
          } catch (e) {
            // A Redis restart or SCRIPT FLUSH forgets the script.
            if (!(e instanceof Error) || !e.message.startsWith("NOSCRIPT")) throw e
            return client.send("EVAL", [TOKEN_BUCKET_LUA, ...args])
          }
        }
        let degraded = false
        const consume = (key: string, bucket: Bucket): Effect.Effect<Decision> =>
          // Disconnected: decided in process at once (the connection comes back by itself).
          !client.connected ? fallback.consume(key, bucket) : Effect.tryPromise(() => evaluate(key, bucket)).pipe(
            Effect.timeoutFail({ duration: "1 second", onTimeout: () => new Error("Redis timed out") }),
            Effect.map((reply): Decision => {
              const [allowed, retryAfterMs] = reply as [number, number]
              degraded = false
              return { allowed: allowed === 1, retryAfterMs }
            }),
            // Losing Redis must not take the whole API down with it, nor lift the limits.
            Effect.catchAll((error) =>
              Effect.zipRight(
                degraded ? Effect.void : Effect.logWarning("rate limiter: Redis unavailable, limiting in process").pipe(
                  Effect.annotateLogs("error", error instanceof Error ? error.message : String(error)),
                  Effect.zipLeft(Effect.sync(() => (degraded = true)))
                ),
                fallback.consume(key, bucket)
              )
            )
          )
        return { consume, backend: "redis" as const }
      })
    )

  /** Redis when `auth.redisUrl` is set, in-memory otherwise. */
  static readonly layer = Layer.unwrapEffect(
    Effect.map(AuthConfig, (auth) =>
      Option.match(auth.redisUrl, {
        onNone: () => RateLimiter.memory,
        onSome: (url) => RateLimiter.redis(Redacted.value(url), auth.rateLimitKeyPrefix)
      }))
  )
}

/**
 * KEYS[1] bucket; ARGV rate (tokens/s), burst. Refills by elapsed time on
 * Redis' own clock (nodes' clocks may differ), spends one token if it can,
 * and expires idle buckets once they would be full again.
 * Returns {allowed 0|1, retry-after ms}.
 */
const TOKEN_BUCKET_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, retry}
`
