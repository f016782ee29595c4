/**
 * A single-node cluster with BatchedMessageStorage as a child process, for the kill -9 test
 * (test/cluster/batched-durability.test.ts). NODE_MODE=send: sends SEND_COUNT persisted
 * DeliveryProbe.Apply messages (64 at a time, fire-and-forget: a call returns once the
 * message is stored) and prints `ack <messageId>` for each; NODE_MODE=serve: only hosts the
 * entities, so stored messages left unprocessed are picked up from storage.
 */
import { Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { DeliveryProbe } from "../../../entities/DeliveryProbe.ts"
import { singleNodeClusterWith } from "../../../src/cluster/ClusterLive.ts"
import { AppConfig } from "../../../src/config/AppConfig.ts"
import { DatabaseLive } from "../../../src/db/Database.ts"
import { DeliveryProbeLive } from "../../../src/system/DeliveryProbeLive.ts"

const databaseUrl = process.env.DATABASE_URL!
const count = Number(process.env.SEND_COUNT ?? 0)

const layer = DeliveryProbeLive.pipe(
  Layer.provideMerge(singleNodeClusterWith("batched")),
  Layer.provideMerge(DatabaseLive),
  Layer.provide(AppConfig.layerWith({ databaseUrl: Option.some(Redacted.make(databaseUrl)), vectorStore: "disabled" })),
  Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
)

const main = Effect.gen(function*() {
  process.stdout.write("ready\n")
  if (process.env.NODE_MODE !== "send") return yield* Effect.never
  const probe = yield* DeliveryProbe.client
  yield* Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      probe(`k-${i % 100}`).Apply({ messageId: `k-${i}`, amount: 1 }, { discard: true }).pipe(
        Effect.tap(() => Effect.sync(() => process.stdout.write(`ack k-${i}\n`)))
      ),
    { concurrency: 64, discard: true }
  )
  return yield* Effect.never
})

Effect.runFork(Effect.provide(main, layer))
