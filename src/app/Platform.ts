import { Layer } from "effect"
import { ClusterLive, hostedOnly } from "../cluster/ClusterLive.ts"
import { StaleRunnerFencingLive } from "../cluster/StaleRunnerFencing.ts"
import { AgentEntityLayer } from "../agents/AgentsLive.ts"
import { DatabaseLive } from "../db/Database.ts"
import { ProjectQuotas } from "../auth/ProjectQuotas.ts"
import { EventBusLive } from "../events/EventBusLive.ts"
import { VectorSupport } from "../db/VectorSupport.ts"
import { HttpServerLive } from "./Server.ts"
import { ToolsEntitiesLive, ToolsServicesLive } from "../tools/ToolsLive.ts"
import { SqlToolLive } from "../sql-tool/SqlQueryTool.ts"
import { ObservabilityLive } from "../observability/ObservabilityLive.ts"
import { DeliveryLive } from "../orchestrator/DeliveryLive.ts"
import { DeliveryProbeLive } from "../system/DeliveryProbeLive.ts"
import { DurableJobLive } from "../system/DurableJobLive.ts"
import { RagIngestionLive } from "../rag/IngestionEntityLive.ts"
import { RagLive } from "../rag/RagLive.ts"
import { WorkflowEngineLive, WorkflowHostLive } from "../workflows/WorkflowsLive.ts"
import { EmbeddingsLive } from "../embeddings/EmbeddingsLive.ts"
import { WorkflowPortsLive } from "./WorkflowPorts.ts"
import { EgressPolicy } from "../net/EgressPolicy.ts"

/** Entity handler layers hosted by this process. */
export const EntitiesLive = Layer.mergeAll(DurableJobLive, AgentEntityLayer, DeliveryProbeLive, DeliveryLive, WorkflowHostLive.pipe(Layer.provide(WorkflowPortsLive)), RagIngestionLive, ToolsEntitiesLive)

/**
 * The whole platform in one process: HTTP/WS gateway, entities on a
 * single-node SQL-backed cluster, migrated database (embedded unless
 * DATABASE_URL is set). Needs `AppConfig`, so tests can start it with overrides.
 */
export const PlatformLive = HttpServerLive.pipe(
  Layer.provide(hostedOnly(EntitiesLive)),
  // Runners end the lock sessions of a runner that froze, so its shards can move (see there).
  Layer.provide(StaleRunnerFencingLive),
  // ToolCatalog for agents and workflows; the registry behind it (tools HTTP group, /mcp).
  Layer.provideMerge(ToolsServicesLive),
  // Embeddings (shared with semantic search elsewhere), RagSearch (the rag_search tool), ingestion.
  Layer.provideMerge(RagLive),
  Layer.provideMerge(EmbeddingsLive),
  // SQL tool connections/pools: its HTTP group and the sql_query built-in (looked up by the Tools service above).
  Layer.provideMerge(SqlToolLive),
  // Durable workflows (ClusterWorkflowEngine) over the cluster's sharding and message storage.
  Layer.provideMerge(WorkflowEngineLive),
  // Redis pub/sub when REDIS_URL is set, in-process otherwise.
  Layer.provideMerge(EventBusLive),
  // SingleRunner for `bun run dev`, BunClusterSocket runner/client by CLUSTER_MODE.
  Layer.provideMerge(ClusterLive),
  // Tracing before the cluster and the server, so their fibers get the OTel tracer.
  Layer.provideMerge(ObservabilityLive),
  Layer.provideMerge(VectorSupport.Default),
  // Per-tenant quotas on what creates rows (agents, workflows, tools, keys, connections, alert rules, projects).
  Layer.provideMerge(ProjectQuotas.Default),
  Layer.provideMerge(DatabaseLive),
  // One egress policy for every outbound request and connection a tenant can aim.
  Layer.provideMerge(EgressPolicy.Default)
)
