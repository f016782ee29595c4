import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { EventBus } from "./EventBus.ts"
import { makeRedisEventBus } from "./RedisEventBus.ts"

/** Redis pub/sub when REDIS_URL is set (every node sees every event), in-process otherwise. */
export const EventBusLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.match(config.redisUrl, {
      onNone: () => EventBus.inProcess,
      onSome: (url) => makeRedisEventBus(url)
    }))
)
