import { RedisClient } from "bun"
import { Effect, Schedule, type Scope } from "effect"

/**
 * A Bun RedisClient that survives Redis going away and coming back (issue #24, measured
 * on Bun 1.4.5 against a redis-server killed and restarted):
 * - commands fail at once while disconnected (no offline queue): callers degrade to their
 *   in-process path instead of waiting, and nothing queued is replayed late;
 * - Bun's own reconnect gives up after `maxRetries`; a check every second connects again,
 *   however long Redis was down.
 * Not for subscribers: a reconnected Bun client comes back WITHOUT its subscriptions (Bun
 * keeps the handlers but does not send SUBSCRIBE again); see RedisEventBus.
 * The URL is never put in an error or a log line: it may carry a password.
 */
export const openRedis = (url: string): Effect.Effect<RedisClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new RedisClient(url, { autoReconnect: true, enableOfflineQueue: false, connectionTimeout: 2_000 })),
      (c) => Effect.sync(() => c.close())
    )
    let connecting: Promise<void> | undefined
    const connect = () => {
      if (client.connected) return Promise.resolve()
      connecting ??= client.connect().catch(() => undefined).finally(() => (connecting = undefined))
      return connecting
    }
    // The first connection is waited for, at most 2 s of real time (not the Effect clock: a test's
    // TestClock must not hold start-up), so a healthy Redis is used from the first request on.
    // Later a request never waits: callers see `connected` and degrade until it is back.
    yield* Effect.promise(() => Promise.race([connect(), Bun.sleep(2_000)]))
    yield* Effect.sync(connect).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.forkScoped)
    return client
  })
