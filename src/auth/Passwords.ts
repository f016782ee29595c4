import { Effect } from "effect"
import { AuthConfig } from "./AuthConfig.ts"

/**
 * argon2id through `Bun.password` (runs on Bun's thread pool, off the event
 * loop). Costs come from config so a deployment can raise them.
 */
export class Passwords extends Effect.Service<Passwords>()("Auth/Passwords", {
  effect: Effect.gen(function*() {
    const auth = yield* AuthConfig
    const options = {
      algorithm: "argon2id" as const,
      memoryCost: auth.passwordMemoryKib,
      timeCost: auth.passwordTimeCost
    }
    const hash = (password: string) => Effect.promise(() => Bun.password.hash(password, options))
    // Unknown emails still pay for one verify, so response time does not reveal which emails exist.
    const decoy = yield* hash(crypto.randomUUID())
    const verify = (password: string, stored: string | undefined) =>
      Effect.promise(() => Bun.password.verify(password, stored ?? decoy).catch(() => false)).pipe(
        Effect.map((ok) => ok && stored !== undefined)
      )
    return { hash, verify } as const
  })
}) {}
