import { ClusterWorkflowEngine } from "@effect/cluster"
import { Layer } from "effect"
import { WorkflowRunLive } from "./WorkflowRunLive.ts"

/**
 * The durable engine on the process's cluster (Sharding + MessageStorage):
 * workflow executions, activities, durable clocks and deferreds are
 * persisted cluster messages. Provided once in PlatformLive.
 */
export const WorkflowEngineLive = ClusterWorkflowEngine.layer

/** What a process hosting shards registers: the `WorkflowRun` workflow. */
export const WorkflowHostLive = WorkflowRunLive
