import { ClusterWorkflowEngine } from "@effect/cluster"
import { Layer } from "effect"
import { CronSchedulerLive } from "./CronScheduler.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowRunLive } from "./WorkflowRunLive.ts"
import { WorkflowRuns } from "./WorkflowRuns.ts"

/**
 * The durable engine on the process's cluster (Sharding + MessageStorage):
 * workflow executions, activities, durable clocks and deferreds are
 * persisted cluster messages. Provided once in PlatformLive.
 */
export const WorkflowEngineLive = ClusterWorkflowEngine.layer

/**
 * What a process hosting shards registers: the `WorkflowRun` workflow and the
 * cron scheduler singleton. Steps reach agents, RAG and SQL through the ports
 * in ./ports, which the composition root binds (src/app/WorkflowPorts.ts).
 */
export const WorkflowHostLive = Layer.merge(
  WorkflowRunLive,
  CronSchedulerLive.pipe(Layer.provide(Layer.merge(WorkflowRepo.Default, WorkflowRuns.Default)))
)
