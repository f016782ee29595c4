import { Singleton } from "@effect/cluster"
import { Cron, Effect, Either, Schedule } from "effect"
import { WorkflowsConfig } from "./WorkflowsConfig.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { newRunId, WorkflowRuns } from "./WorkflowRuns.ts"
import { shortestCronInterval } from "./WorkflowDefinitions.ts"

/** Ticks older than this when first seen (downtime, a new schedule) are skipped, not replayed. */
const MAX_CATCH_UP_MS = 60_000

/**
 * Fires scheduled workflows (definition `schedule.cron`). It runs as a
 * cluster singleton, so one node scans at a time; and each tick is claimed
 * by inserting (workflow, tick time) into `workflow_schedule_ticks` before
 * its run starts, so even two overlapping schedulers (a failover) start a
 * tick's run exactly once. The run's idempotency key is the tick too.
 */
export const CronSchedulerLive = Singleton.make(
  "Workflows/CronScheduler",
  Effect.gen(function*() {
    const repo = yield* WorkflowRepo
    const runs = yield* WorkflowRuns
    const workflowsConfig = yield* WorkflowsConfig
    // workflowId → the last tick handled (or the moment the schedule was first seen).
    const cursors = new Map<string, { cron: string; at: Date }>()
    // Schedules stored before WORKFLOW_MIN_CRON_INTERVAL_SECONDS existed (or under a lower one) are not fired.
    const tooFast = new Map<string, boolean>()
    const isTooFast = (cron: Cron.Cron, text: string) => {
      let fast = tooFast.get(text)
      if (fast === undefined) {
        fast = shortestCronInterval(cron, workflowsConfig.minCronIntervalSeconds) < workflowsConfig.minCronIntervalSeconds
        if (tooFast.size > 10_000) tooFast.clear()
        tooFast.set(text, fast)
      }
      return fast
    }

    const scan = Effect.gen(function*() {
      const now = new Date()
      const scheduled = yield* repo.scheduled
      // Deleted or unscheduled workflows: forget their cursors.
      const live = new Set(scheduled.map((w) => w.id))
      for (const id of cursors.keys()) if (!live.has(id)) cursors.delete(id)
      for (const w of scheduled) {
        const parsed = Cron.parse(w.scheduleCron)
        if (Either.isLeft(parsed) || isTooFast(parsed.right, w.scheduleCron)) continue
        let cursor = cursors.get(w.id)
        if (cursor === undefined) {
          // First sight (start-up, failover, new schedule): continue from the last claimed tick if recent.
          const last = yield* repo.lastTick(w.id)
          const recent = last._tag === "Some" && now.getTime() - last.value.getTime() < MAX_CATCH_UP_MS
          cursor = { cron: w.scheduleCron, at: recent ? last.value : now }
        } else if (cursor.cron !== w.scheduleCron) {
          cursor = { cron: w.scheduleCron, at: now }
        }
        let next = Cron.next(parsed.right, cursor.at)
        while (next.getTime() <= now.getTime()) {
          const tick = next
          const runId = newRunId()
          if (yield* repo.claimTick(w.id, tick, runId)) {
            const schedule = (w.definition as { schedule?: { input?: unknown } }).schedule
            yield* runs.start({
              runId,
              projectId: w.projectId,
              workflowId: w.id,
              version: w.version,
              definition: w.definition,
              input: { ...(schedule?.input as object | undefined), scheduledAt: tick.toISOString() },
              trigger: "cron",
              idempotencyKey: `cron:${w.id}:${tick.toISOString()}`,
              createdBy: w.createdBy
            })
          }
          cursor = { cron: w.scheduleCron, at: tick }
          next = Cron.next(parsed.right, tick)
        }
        cursors.set(w.id, cursor)
      }
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("workflow scheduler scan failed", cause))
    )

    yield* scan.pipe(Effect.repeat(Schedule.spaced(workflowsConfig.schedulerIntervalMs)))
  })
)
