import { ClusterWorkflowEngine } from "@effect/cluster"
import { Layer } from "effect"
import { CronSchedulerLive } from "./CronScheduler.ts"
import { AgentAdapterLive } from "./ports/AgentAdapter.ts"
import { PortAdaptersLive } from "./ports/Adapters.ts"
import { WorkflowRepo } from "./WorkflowRepo.ts"
import { WorkflowRunLive } from "./WorkflowRunLive.ts"
import { WorkflowRuns } from "./WorkflowRuns.ts"

/**
 * The durable engine on the process's cluster (Sharding + MessageStorage):
 * workflow executions, activities, durable clocks and deferreds are
 * persisted cluster messages. Provided once in PlatformLive.
 */
export const WorkflowEngineLive = ClusterWorkflowEngine.layer

/** What a process hosting shards registers: the `WorkflowRun` workflow and the cron scheduler singleton. */
export const WorkflowHostLive = Layer.merge(
  // Steps reach RAG and SQL through ports; the adapters bind them to this process's services.
  WorkflowRunLive.pipe(Layer.provide(Layer.merge(PortAdaptersLive, AgentAdapterLive))),
  CronSchedulerLive.pipe(Layer.provide(Layer.merge(WorkflowRepo.Default, WorkflowRuns.Default)))
)
