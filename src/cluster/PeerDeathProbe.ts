import { RunnerAddress, RunnerStorage, ShardingConfig } from "@effect/cluster"
import { Duration, Effect, Equal, Layer, Option, Schedule } from "effect"

/**
 * Fast failover for a runner whose process died (issue #24). @effect/cluster checks runner
 * health from one singleton; when the dead runner was the one running it, nobody pinged it and
 * its shards only moved once its heartbeat expired (SHARD_LOCK_EXPIRATION_SECONDS): the 7.2 s
 * worst case of `bun run bench failover`. Here every runner also tries a TCP connection to each
 * healthy peer every PROBE_INTERVAL: a refused connection (nothing listens on the port: the
 * process is gone, the kernel answered RST) twice in a row marks the peer unhealthy in runner
 * storage, and every runner moves its shards at its next assignment refresh.
 *
 * Only refusal counts, never slowness: a runner that is overloaded, paused (SIGSTOP: the kernel
 * still accepts its connections) or unreachable is left to the ping health check and the
 * heartbeat expiry as before, so load cannot cause a false failover through this path. A runner
 * restarted on the same address registers itself healthy again; one that never listened yet
 * (it registers before its server is up) is not judged.
 */
const PROBE_INTERVAL = Duration.millis(500)
const CONNECT_TIMEOUT_MS = 500
const REFUSALS_TO_MARK = 2

type ProbeResult = "refused" | "listening" | "unknown"

/** One TCP connect: refused only when the peer's kernel said no one listens. */
const probe = (address: RunnerAddress.RunnerAddress): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    let done = false
    const finish = (r: ProbeResult) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.succeed(r))
    }
    const timer = setTimeout(() => finish("unknown"), CONNECT_TIMEOUT_MS)
    Bun.connect({
      hostname: address.host,
      port: address.port,
      socket: {
        open: (socket) => {
          socket.end()
          finish("listening")
        },
        data: () => {},
        connectError: (_socket, error) => finish((error as { code?: string }).code === "ECONNREFUSED" ? "refused" : "unknown")
      }
    }).catch((error: { code?: string }) => finish(error?.code === "ECONNREFUSED" ? "refused" : "unknown"))
    return Effect.sync(() => finish("unknown"))
  })

export const PeerDeathProbeLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* ShardingConfig.ShardingConfig
    const storage = yield* RunnerStorage.RunnerStorage
    const self = Option.getOrUndefined(config.runnerAddress)
    if (self === undefined) return
    const refusals = new Map<string, number>()
    const listened = new Set<string>()
    const round = Effect.gen(function*() {
      const runners = yield* storage.getRunners
      const peers = runners.filter(([r, healthy]) => healthy && !Equal.equals(r.address, self)).map(([r]) => r.address)
      const seen = new Set<string>()
      yield* Effect.forEach(peers, (address) =>
        Effect.gen(function*() {
          const key = `${address.host}:${address.port}`
          seen.add(key)
          const result = yield* probe(address)
          if (result === "listening") listened.add(key)
          // A runner registers before its socket server listens: refusals count only once it was seen listening.
          if (result !== "refused" || !listened.has(key)) {
            refusals.delete(key)
            return
          }
          const n = (refusals.get(key) ?? 0) + 1
          refusals.set(key, n)
          if (n < REFUSALS_TO_MARK) return
          refusals.delete(key)
          listened.delete(key)
          yield* Effect.logWarning("runner refuses connections: marked unhealthy, its shards move").pipe(
            Effect.annotateLogs({ runner: key })
          )
          yield* storage.setRunnerHealth(address, false)
        }), { concurrency: "unbounded", discard: true })
      for (const key of refusals.keys()) if (!seen.has(key)) refusals.delete(key)
      for (const key of listened) if (!seen.has(key)) listened.delete(key)
    })
    yield* round.pipe(
      Effect.catchAllCause((cause) => Effect.logDebug("peer death probe failed", cause)),
      Effect.repeat(Schedule.spaced(PROBE_INTERVAL)),
      Effect.forkScoped
    )
  })
)
