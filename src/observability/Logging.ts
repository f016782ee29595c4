import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

/** Structured JSON logs (or pretty ones for a terminal) at LOG_LEVEL. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.mergeAll(
      // Replace (not add to) the default logger: one line per event.
      config.logFormat === "json" ? Logger.json : Logger.pretty,
      Logger.minimumLogLevel(config.logLevel)
    ))
)
