import { Effect, Option } from "effect"
import { A2aCodes, a2aError } from "../../rpc/A2aRpcs.ts"
import { AgentTasks } from "../agents/AgentTasks.ts"
import type { StoredTask } from "../agents/TaskRepo.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"
import { renderTask, type Version } from "./Wire.ts"

/**
 * A2A push notifications: configs are stored per task; when the task ends
 * each config's URL gets one POST of the final task in the shape of the
 * protocol version the config was registered over (v1.0 `{ task }`, v0.3 the
 * Task itself), with `X-A2A-Notification-Token` when the client set a token. Delivery is best
 * effort with a timeout; a failure is logged, never surfaced to the caller.
 */
export class PushNotifier extends Effect.Service<PushNotifier>()("A2a/PushNotifier", {
  effect: Effect.gen(function*() {
    const tasks = yield* AgentTasks
    // The URL is the client's: checked and pinned by the egress policy, redirects re-checked.
    const egress = yield* EgressPolicy

    const deliver = (taskId: string) =>
      Effect.gen(function*() {
        const stored = yield* tasks.find(taskId)
        if (Option.isNone(stored)) return
        const configs = yield* tasks.pushConfigs(taskId)
        const bodies = {
          "1.0": JSON.stringify({ task: renderTask("1.0", stored.value.task) }),
          "0.3": JSON.stringify(renderTask("0.3", stored.value.task))
        }
        yield* Effect.forEach(configs, (c) =>
          Effect.tryPromise((signal) =>
            egress.fetchWith(c.url, {
              method: "POST",
              signal,
              headers: {
                "content-type": "application/json",
                ...(c.token ? { "x-a2a-notification-token": c.token } : {})
              },
              body: c.protocolVersion === "0.3" ? bodies["0.3"] : bodies["1.0"]
            }, { tenant: stored.value.projectId })
              // Only the status matters; the body is let go (it holds the project's outbound slot until then).
              .then((res) => res.body?.cancel())
          ).pipe(
            Effect.timeout("10 seconds"),
            Effect.catchAll((e) => Effect.logWarning("push notification failed").pipe(Effect.annotateLogs({ taskId, error: String(e) })))
          ), { concurrency: 4, discard: true })
      })

    /** Refused before anything is stored or submitted, with the egress policy's one text (checked again at delivery). */
    const check = (url: string) =>
      egress.check(url).pipe(
        Effect.mapError((e) => a2aError(A2aCodes.InvalidParams, `Invalid params: push notification url: ${e.message}`)),
        Effect.asVoid
      )

    /** Stores the config and, once per registration, watches the task to deliver its end. */
    const register = (
      stored: StoredTask,
      config: { id?: string | undefined; url: string; token?: string | undefined; authentication?: unknown },
      version: Version = "1.0"
    ) =>
      Effect.gen(function*() {
        const id = config.id ?? crypto.randomUUID()
        yield* tasks.putPushConfig(stored.task.id, { ...config, id, protocolVersion: version })
        yield* tasks.awaitEnd(stored.agentId, stored.task.id).pipe(
          Effect.zipRight(deliver(stored.task.id)),
          Effect.catchAllCause((cause) => Effect.logWarning("push watcher ended", cause)),
          Effect.forkDaemon
        )
        return id
      })

    return { check, register } as const
  })
}) {}
