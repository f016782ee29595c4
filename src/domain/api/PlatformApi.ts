import { HttpApi, OpenApi } from "@effect/platform"
import { AgentsApi } from "./AgentsApi.ts"
import { AuthApi } from "./AuthApi.ts"
import { ProjectsApi } from "./ProjectsApi.ts"
import { HealthApi } from "./HealthApi.ts"
import { ObservabilityApi } from "./ObservabilityApi.ts"
import { OrchestratorApi } from "./OrchestratorApi.ts"
import { RagApi } from "./RagApi.ts"
import { SqlToolApi } from "./SqlToolApi.ts"
import { SystemApi } from "./SystemApi.ts"
import { ToolsApi } from "./ToolsApi.ts"
import { WorkflowsApi } from "./WorkflowsApi.ts"

/**
 * The platform's REST surface: one HttpApi, one group per service. A service
 * adds its group here and its handler layer in `src/app/Routes.ts`.
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
