import { HttpApi, OpenApi } from "@effect/platform"
import { AgentsApi } from "../agents/Api.ts"
import { AuthApi } from "../auth/Api.ts"
import { ProjectsApi } from "../gateway/Api.ts"
import { HealthApi } from "../health/Api.ts"
import { ObservabilityApi } from "../observability/Api.ts"
import { OrchestratorApi } from "../orchestrator/Api.ts"
import { RagApi } from "../rag/Api.ts"
import { SqlToolApi } from "../sql-tool/Api.ts"
import { SystemApi } from "../system/Api.ts"
import { ToolsApi } from "../tools/Api.ts"
import { WorkflowsApi } from "../workflows/Api.ts"

/**
 * The platform's REST surface: one HttpApi, one group per service. A service
 * adds its group here and its handler layer in `src/http/Routes.ts`.
 */
export class PlatformApi extends HttpApi.make("platform")
  .add(HealthApi)
  .add(SystemApi)
  .add(OrchestratorApi)
  .add(AuthApi)
  .add(AgentsApi)
  .add(ProjectsApi)
  .add(ObservabilityApi)
  .add(RagApi)
  .add(WorkflowsApi)
  .add(SqlToolApi)
  .add(ToolsApi)
  .annotate(OpenApi.Title, "Agent Platform API")
  .annotate(OpenApi.Version, "0.1.0")
{}
