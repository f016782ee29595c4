import { Config, Duration, Effect } from "effect"
import * as Values from "../config/Values.ts"
import { makeCircuitBreaker } from "../net/CircuitBreaker.ts"

export const CircuitConfig = Config.all({
  // A remote agent's endpoint that failed this many attempts in a row (any message of the
  // project) is not called again for the cool-down; then one trial attempt goes through.
  failures: Values.positiveInteger("ORCHESTRATOR_CIRCUIT_FAILURES").pipe(Config.withDefault(5)),
  coolDown: Config.duration("ORCHESTRATOR_CIRCUIT_COOLDOWN").pipe(Config.withDefault("30 seconds"))
})

/**
 * The circuit breakers of remote agents' endpoints, one per process. A service, not a value
 * of the Delivery entity: deliveries to one endpoint run on many entities (by a hash of their
 * id), and a breaker per entity would see only the failures of its own.
 */
export class DeliveryCircuits extends Effect.Service<DeliveryCircuits>()("Orchestrator/DeliveryCircuits", {
  effect: Effect.map(CircuitConfig.pipe(Effect.orDie), (config) => ({
    failureThreshold: config.failures,
    breaker: makeCircuitBreaker({ failureThreshold: config.failures, coolDownMs: Duration.toMillis(config.coolDown) })
  }))
}) {}
