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
 * of the Delivery entity: every delivery is its own entity, and a breaker per delivery would
 * never see the failures of the others.
 */
export class DeliveryCircuits extends Effect.Service<DeliveryCircuits>()("Orchestrator/DeliveryCircuits", {
  effect: Effect.map(CircuitConfig.pipe(Effect.orDie), (config) => ({
    failureThreshold: config.failures,
    breaker: makeCircuitBreaker({ failureThreshold: config.failures, coolDownMs: Duration.toMillis(config.coolDown) })
  }))
}) {}
