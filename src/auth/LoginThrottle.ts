import { Context, Effect, Layer, Option, Redacted } from "effect"
import { openRedis } from "../net/RedisConnection.ts"
import { AuthConfig } from "./AuthConfig.ts"
import { sha256Hex } from "./Secrets.ts"

/** How many failures lock a key, for how long at first and at most, and when failures are forgotten. */
export interface ThrottlePolicy {
  readonly maxFailures: number
  readonly windowMs: number
  readonly baseLockMs: number
  readonly maxLockMs: number
}

/**
 * Password guessing is throttled per account and per client IP. Each key counts its attempts
 * within a window (counted before the password is checked, taken back on success); from
 * `maxFailures` on, every further failure locks the key for a doubling time (base, 2×base, …
 * up to the maximum). While locked, a login answers 429 without checking the password, so
 * guesses cost the attacker the lock time and the server no hashing. A success clears the
 * account's count; the IP's count only gets its attempt back (a guesser with one valid account
 * of their own must not reset their address's budget). Keys are hashes of the
 * lower-cased email / IP. In memory per process, or in Redis (REDIS_URL) for all nodes, falling back to
 * this process's counts while Redis is unreachable.
 */
export class LoginThrottle extends Effect.Tag("Auth/LoginThrottle")<LoginThrottle, {
  /**
   * One login attempt, in one atomic step: refused (the ms until the key may try again) while
   * the key is locked, otherwise counted as a failure up front, so concurrent guesses cannot
   * all pass before the first failure is recorded. 0: go ahead and check the password.
   */
  readonly attempt: (key: string, policy: ThrottlePolicy) => Effect.Effect<number>
  /** The attempt succeeded: take back its count (and the lock it alone may have set). */
  readonly refund: (key: string, policy: ThrottlePolicy) => Effect.Effect<void>
  /** Milliseconds until the key may try again; 0 when it may now. */
  readonly lockedFor: (key: string) => Effect.Effect<number>
  readonly clear: (key: string) => Effect.Effect<void>
  readonly backend: "memory" | "redis"
}>() {
  static readonly memory = Layer.sync(LoginThrottle, () => {
    const entries = new Map<string, { failures: number; last: number; lockedUntil: number; expires: number }>()
    // Effect's Clock so tests can move time; read inside one sync block so updates are atomic.
    const now = Effect.clockWith((clock) => Effect.sync(() => clock.unsafeCurrentTimeMillis()))
    const sweep = (at: number) => {
      for (const [key, entry] of entries) if (entry.expires <= at) entries.delete(key)
    }
    return {
      backend: "memory" as const,
      lockedFor: (key) =>
        Effect.map(now, (at) => Math.max(0, (entries.get(key)?.lockedUntil ?? 0) - at)),
      attempt: (key, policy) =>
        Effect.map(now, (at) => {
          if (entries.size > 100_000) sweep(at)
          const previous = entries.get(key)
          if (previous !== undefined && previous.lockedUntil > at) return previous.lockedUntil - at
          const failures = previous !== undefined && at - previous.last <= policy.windowMs ? previous.failures + 1 : 1
          const lockedUntil = failures >= policy.maxFailures ? at + lockMs(failures, policy) : 0
          entries.set(key, { failures, last: at, lockedUntil, expires: Math.max(lockedUntil, at + policy.windowMs) })
          return 0
        }),
      refund: (key, policy) =>
        Effect.sync(() => {
          const entry = entries.get(key)
          if (entry === undefined) return
          const failures = Math.max(0, entry.failures - 1)
          entries.set(key, { ...entry, failures, lockedUntil: failures >= policy.maxFailures ? entry.lockedUntil : 0 })
        }),
      clear: (key) => Effect.sync(() => void entries.delete(key))
    }
  })

  static readonly redis = (url: string, prefix: string) =>
    Layer.scoped(
      LoginThrottle,
      Effect.gen(function*() {
        const client = yield* openRedis(url)
        // Redis down: this process's own counts, as without REDIS_URL. Failing open instead would
        // let a guesser lift the throttle by taking Redis down (or waiting for it to go down).
        const local = Context.get(yield* Layer.build(LoginThrottle.memory), LoginThrottle)
        let degraded = false
        const redis = <A>(what: string, run: () => Promise<A>, fallback: Effect.Effect<A>) =>
          // Disconnected: decided in process at once (the connection comes back by itself).
          !client.connected ? fallback : Effect.tryPromise(run).pipe(
            Effect.timeoutFail({ duration: "1 second", onTimeout: () => new Error("Redis timed out") }),
            Effect.tap(() => Effect.sync(() => (degraded = false))),
            Effect.catchAll((error) =>
              Effect.zipRight(
                degraded ? Effect.void : Effect.logWarning(`login throttle: Redis unavailable (${what}), counting in process`).pipe(
                  Effect.annotateLogs("error", error instanceof Error ? error.message : String(error)),
                  Effect.zipLeft(Effect.sync(() => (degraded = true)))
                ),
                fallback
              )
            )
          )
        return {
          backend: "redis" as const,
          lockedFor: (key) =>
            redis("read", () => client.send("EVAL", [LOCKED_FOR_LUA, "1", prefix + key]), local.lockedFor(key)).pipe(
              Effect.map((reply) => Math.max(0, Number(reply) || 0))
            ),
          attempt: (key, policy) =>
            redis(
              "attempt",
              () => client.send("EVAL", [ATTEMPT_LUA, "1", prefix + key, ...policyArgs(policy)]),
              local.attempt(key, policy)
            ).pipe(Effect.map((reply) => Math.max(0, Number(reply) || 0))),
          refund: (key, policy) =>
            redis(
              "refund",
              () => client.send("EVAL", [REFUND_LUA, "1", prefix + key, String(policy.maxFailures)]),
              local.refund(key, policy)
            ).pipe(Effect.asVoid),
          clear: (key) => redis("clear", () => client.del(prefix + key), Effect.as(local.clear(key), 0)).pipe(Effect.asVoid)
        }
      })
    )

  /** Redis when `auth.redisUrl` is set, in memory otherwise. */
  static readonly layer = Layer.unwrapEffect(
    Effect.map(AuthConfig, (auth) =>
      Option.match(auth.redisUrl, {
        onNone: () => LoginThrottle.memory,
        onSome: (url) => LoginThrottle.redis(Redacted.value(url), `${auth.rateLimitKeyPrefix}login:`)
      }))
  )
}

const policyArgs = (policy: ThrottlePolicy) =>
  [String(policy.maxFailures), String(policy.windowMs), String(policy.baseLockMs), String(policy.maxLockMs)]

const lockMs = (failures: number, policy: ThrottlePolicy) =>
  Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(30, failures - policy.maxFailures))

export const accountKey = (email: string) => `account:${sha256Hex(email.trim().toLowerCase()).slice(0, 32)}`
export const ipKey = (ip: string) => `ip:${sha256Hex(ip).slice(0, 32)}`

/** On Redis' clock (nodes' clocks may differ). Returns the ms left of the lock, 0 if none. */
const LOCKED_FOR_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local locked = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil'))
if locked == nil or locked <= now then return 0 end
return locked - now
`

/**
 * ARGV maxFailures, windowMs, baseLockMs, maxLockMs: the same rule as the in-memory store.
 * Returns the ms left of a lock (the attempt is refused and not counted), or 0 (counted).
 */
const ATTEMPT_LUA = `
local maxFailures = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local maxLock = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'failures', 'last', 'lockedUntil')
local failures = tonumber(state[1])
local last = tonumber(state[2])
local locked = tonumber(state[3])
if locked ~= nil and locked > now then return locked - now end
if failures == nil or last == nil or now - last > window then failures = 0 end
failures = failures + 1
local lockedUntil = 0
if failures >= maxFailures then
  lockedUntil = now + math.min(maxLock, base * math.pow(2, math.min(30, failures - maxFailures)))
end
redis.call('HSET', KEYS[1], 'failures', tostring(failures), 'last', tostring(now), 'lockedUntil', tostring(lockedUntil))
redis.call('PEXPIRE', KEYS[1], math.max(lockedUntil - now, window) + 1000)
return 0
`

/** ARGV maxFailures. Takes back one counted attempt, and its lock when the count falls below the limit. */
const REFUND_LUA = `
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if failures == nil then return 0 end
failures = math.max(0, failures - 1)
redis.call('HSET', KEYS[1], 'failures', tostring(failures))
if failures < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'lockedUntil', '0') end
return failures
`
